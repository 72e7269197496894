"""The import graph of pkgym and agents: no module imports itself back, however indirectly.

``lint-imports`` checks the layers and the package-level cycles (``[tool.importlinter]`` in
pyproject.toml, where one package cycle is excused); this test checks every module, with no
exception. Lazy imports inside functions and ``TYPE_CHECKING`` imports count: they are edges
of the design even when Python would tolerate the loop at run time.
"""

from __future__ import annotations

import grimp


def test_import_graph__has_no_module_cycles() -> None:
    """No import ``a -> b`` of pkgym or agents has a chain of imports from ``b`` back to ``a``."""
    graph = grimp.build_graph("pkgym", "agents")
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []
