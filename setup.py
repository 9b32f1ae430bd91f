"""Only the C extension lives here; everything else is in pyproject.toml.

dedup._sha1 batches datasketch's SHA-1 shingle hash. With OpenSSL's headers (Debian libssl-dev,
which `make setup` installs) it calls OpenSSL's SHA1(), which uses the CPU's SHA instructions;
without them it compiles its own portable SHA-1.
"""
import os

from setuptools import Extension, setup

openssl = os.path.exists("/usr/include/openssl/sha.h")
setup(
    ext_modules=[
        Extension(
            "dedup._sha1",
            sources=["dedup/_sha1.c"],
            extra_compile_args=["-O3"],
            define_macros=[("CORRAL_OPENSSL", "1")] if openssl else [],
            libraries=["crypto"] if openssl else [],
        )
    ]
)
