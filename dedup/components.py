"""ConnectedComponents: deterministic connected components of a duplicate graph, in Beam.

Edges (a, b) between document ids -> (node, component id), where the component id is the
smallest id in the component. Each round is two joins through the shuffle:

  propagate: a node takes the smallest label among itself and its neighbours;
  jump:      a node takes its label's label (pointer jumping, which halves distances to the root).

Labels only decrease and every one is a real node id, so the result is the same whatever the
input order or worker count. `max_rounds` rounds are unrolled into the pipeline graph (Beam has no
loops); propagation alone needs as many rounds as the graph's diameter and pointer jumping cuts that
to about its logarithm, so 10 rounds cover chains of a thousand documents. A final propagate step
counts nodes that would still change (`unconverged_nodes` in the stats; 0 means exact).
"""
from __future__ import annotations

import apache_beam as beam

NEIGHBOURS, LABEL, CHILDREN = "neighbours", "label", "children"


def _both_directions(edge: tuple[str, str]):
    a, b = edge
    yield a, b
    yield b, a


def _spread(joined):
    node, grouped = joined
    (label,) = grouped[LABEL]
    yield node, label
    for neighbour in grouped[NEIGHBOURS]:
        yield neighbour, label


def _jump(joined):
    _, grouped = joined
    (label_of_label,) = grouped[LABEL]
    for child in grouped[CHILDREN]:
        yield child, label_of_label


def _propagate(adjacency, labels, tag: str):
    return (
        {NEIGHBOURS: adjacency, LABEL: labels}
        | f"JoinNeighbours{tag}" >> beam.CoGroupByKey()
        | f"Spread{tag}" >> beam.FlatMap(_spread)
        | f"MinLabel{tag}" >> beam.CombinePerKey(min)
    )


def _pointer_jump(labels, tag: str):
    children = labels | f"ByLabel{tag}" >> beam.Map(lambda kv: (kv[1], kv[0]))
    return (
        {CHILDREN: children, LABEL: labels}
        | f"JoinLabels{tag}" >> beam.CoGroupByKey()
        | f"Jump{tag}" >> beam.FlatMap(_jump)
    )


def _changed(joined) -> int:
    _, grouped = joined
    return int(list(grouped["before"]) != list(grouped["after"]))


class ConnectedComponents(beam.PTransform):
    """Edges -> {"labels": (node, smallest id in its component), "unconverged": one count}."""

    def __init__(self, max_rounds: int = 10) -> None:
        super().__init__()
        self._max_rounds = max_rounds

    def expand(self, edges):
        adjacency = edges | "BothDirections" >> beam.FlatMap(_both_directions)
        labels = (
            adjacency
            | "SelfLabel" >> beam.Map(lambda kv: (kv[0], min(kv)))
            | "MinStartLabel" >> beam.CombinePerKey(min)
        )
        for round_index in range(self._max_rounds):
            labels = _propagate(adjacency, labels, f"/{round_index}")
            labels = _pointer_jump(labels, f"/{round_index}")
        check = _propagate(adjacency, labels, "/check")
        unconverged = (
            {"before": labels, "after": check}
            | "CompareLabels" >> beam.CoGroupByKey()
            | "Changed" >> beam.Map(_changed)
            | "CountChanged" >> beam.CombineGlobally(sum)
        )
        return {"labels": labels, "unconverged": unconverged}
