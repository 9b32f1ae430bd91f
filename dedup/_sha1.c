/* Batched SHA-1 for MinHash: datasketch's sha1_hash32 (the first 4 bytes of SHA-1, little-endian)
 * of many byte ranges of one buffer in one call, so Python pays one call per batch, not per
 * shingle. A plain FIPS 180-4 SHA-1; dedup/minhash_core.py checks it against hashlib at import
 * and falls back to its numpy SHA-1 when this module is not built. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#ifdef CORRAL_OPENSSL
#define OPENSSL_SUPPRESS_DEPRECATED  /* SHA1_Init/Update/Final: OpenSSL's SHA-NI/AVX code, directly */
#include <openssl/sha.h>
#endif

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void compress(uint32_t h[5], const uint8_t block[64]) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
               (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6; }
        uint32_t t = ROL(a, 5) + f + e + k + w[i];
        e = d; d = c; c = ROL(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

#ifdef CORRAL_OPENSSL
static uint32_t sha1_hash32(const uint8_t *msg, int64_t len) {
    /* The low-level calls, not SHA1(): in OpenSSL 3 the one-shot SHA1() fetches the algorithm
       from a provider on every call, which costs more than hashing a shingle. */
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA_CTX ctx;
    SHA1_Init(&ctx);
    SHA1_Update(&ctx, msg, (size_t)len);
    SHA1_Final(digest, &ctx);
    return (uint32_t)digest[0] | (uint32_t)digest[1] << 8 | (uint32_t)digest[2] << 16 | (uint32_t)digest[3] << 24;
}
#else
static uint32_t sha1_hash32(const uint8_t *msg, int64_t len) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    uint8_t block[64];
    int64_t done = 0;
    for (; len - done >= 64; done += 64) compress(h, msg + done);
    int64_t rest = len - done;
    memcpy(block, msg + done, (size_t)rest);
    block[rest] = 0x80;
    if (rest >= 56) {
        memset(block + rest + 1, 0, (size_t)(63 - rest));
        compress(h, block);
        memset(block, 0, 56);
    } else {
        memset(block + rest + 1, 0, (size_t)(55 - rest));
    }
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) block[63 - i] = (uint8_t)(bits >> (8 * i));
    compress(h, block);
    /* The digest's first 4 bytes are h[0] big-endian; read little-endian, as datasketch does. */
    uint32_t x = h[0];
    return (x >> 24) | ((x >> 8) & 0xFF00) | ((x << 8) & 0xFF0000) | (x << 24);
}
#endif

static PyObject *hash32_ranges(PyObject *self, PyObject *args) {
    Py_buffer buf, starts, lengths, out;
    if (!PyArg_ParseTuple(args, "y*y*y*w*", &buf, &starts, &lengths, &out)) return NULL;
    Py_ssize_t n = starts.len / 8;
    PyObject *result = NULL;
    if (lengths.len != starts.len || out.len != n * 4) {
        PyErr_SetString(PyExc_ValueError, "starts and lengths must be int64 and out uint32, all of one length");
        goto done;
    }
    const uint8_t *data = buf.buf;
    const int64_t *s = starts.buf, *l = lengths.buf;
    uint32_t *o = out.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < 0 || l[i] < 0 || s[i] + l[i] > buf.len) {
            PyErr_SetString(PyExc_ValueError, "a range lies outside the buffer");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) o[i] = sha1_hash32(data + s[i], l[i]);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&buf); PyBuffer_Release(&starts); PyBuffer_Release(&lengths); PyBuffer_Release(&out);
    return result;
}

/* Length in bytes of the whitespace character (as Python's str.isspace()) at p, or 0. */
static int space_len(const uint8_t *p, const uint8_t *end) {
    uint8_t c = p[0];
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
    if (c < 0xC2) return 0;
    if (c == 0xC2 && p + 1 < end) return (p[1] == 0x85 || p[1] == 0xA0) ? 2 : 0;
    if (p + 2 >= end) return 0;
    if (c == 0xE1) return (p[1] == 0x9A && p[2] == 0x80) ? 3 : 0;  /* U+1680 */
    if (c == 0xE2 && p[1] == 0x80)
        return (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF) && p[2] >= 0x80 ? 3 : 0;
    if (c == 0xE2 && p[1] == 0x81) return p[2] == 0x9F ? 3 : 0;  /* U+205F */
    if (c == 0xE3) return (p[1] == 0x80 && p[2] == 0x80) ? 3 : 0;  /* U+3000 */
    return 0;
}

/* words(buf, doc_ends, out, starts, ends, counts) -> number of words.
   For each document buf[doc_ends[i-1]:doc_ends[i]] (UTF-8, already lower-cased), the words of
   str.split(), written to `out` joined by single spaces across all documents (the buffer of
   " ".join(words of every text)), with each word's [start, end) in `out` and the count per text. */
static PyObject *words(PyObject *self, PyObject *args) {
    Py_buffer buf, doc_ends, out, starts, ends, counts;
    if (!PyArg_ParseTuple(args, "y*y*w*w*w*w*", &buf, &doc_ends, &out, &starts, &ends, &counts)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t num_docs = doc_ends.len / 8, cap = starts.len / 8;
    if (out.len < buf.len + num_docs || ends.len != starts.len || counts.len != doc_ends.len) {
        PyErr_SetString(PyExc_ValueError, "words(): output buffers are too small");
        goto done;
    }
    const uint8_t *in = buf.buf;
    const int64_t *de = doc_ends.buf;
    uint8_t *o = out.buf;
    int64_t *ws = starts.buf, *we = ends.buf, *wc = counts.buf;
    Py_ssize_t n = 0, pos = 0, written = 0;
    for (Py_ssize_t d = 0; d < num_docs; d++) {
        const uint8_t *end = in + de[d];
        const uint8_t *p = in + pos;
        int64_t before = n;
        while (p < end) {
            int k;
            while (p < end && (k = space_len(p, end)) > 0) p += k;
            if (p >= end) break;
            if (n >= cap) { PyErr_SetString(PyExc_ValueError, "words(): more words than room"); goto done; }
            if (n > 0) o[written++] = ' ';
            ws[n] = written;
            while (p < end && space_len(p, end) == 0) o[written++] = *p++;
            we[n++] = written;
        }
        wc[d] = n - before;
        pos = de[d];
    }
    result = PyLong_FromSsize_t(n);
done:
    PyBuffer_Release(&buf); PyBuffer_Release(&doc_ends); PyBuffer_Release(&out);
    PyBuffer_Release(&starts); PyBuffer_Release(&ends); PyBuffer_Release(&counts);
    return result;
}

static PyMethodDef methods[] = {
    {"words", words, METH_VARARGS, "words(buf, doc_ends, out, starts, ends, counts) -> number of words (see the C source)."},
    {"hash32_ranges", hash32_ranges, METH_VARARGS,
     "hash32_ranges(buf, starts_int64, lengths_int64, out_uint32): sha1_hash32 of each buf range into out."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sha1", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sha1(void) { return PyModule_Create(&module); }
