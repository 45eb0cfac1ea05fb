"""The imports of photofix run one way: no module imports itself back through others, lazy
imports inside functions included (they are how a circle hides)."""

from __future__ import annotations

import grimp


def import_cycles(graph: grimp.ImportGraph) -> set[tuple[str, ...]]:
    """Each circle once, as its modules in import order, starting from the smallest name."""
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                cycle = (module, *back[:-1])
                start = cycle.index(min(cycle))
                cycles.add(cycle[start:] + cycle[:start])
    return cycles


def test_photofix_has_no_import_cycle():
    graph = grimp.build_graph("photofix", cache_dir=None)
    assert "photofix.runtime" in graph.modules  # the package was found, with its modules
    assert import_cycles(graph) == set()


def test_a_cycle_is_found():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.b", "p.c"), ("p.c", "p.a"), ("p.a", "p.b"), ("p.a", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == {("p.a", "p.b", "p.c")}
