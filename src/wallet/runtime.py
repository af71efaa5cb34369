"""Process-wide settings of the Python runtime for a serving process."""

from __future__ import annotations

import gc


def settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector off the request path's critical cost.

    Under load a worker spent about 9% of its CPU in ``gc_collect_main`` (py-spy --native,
    uniform transfers): every full collection walked the hundreds of thousands of objects the
    application keeps for its whole life (modules, routes, pydantic schemas). Those are frozen
    out of every collection once start-up is done, and the youngest generation is collected
    less often: a request's objects die by reference counting, so a bigger first threshold
    finds the same garbage with fewer passes.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
