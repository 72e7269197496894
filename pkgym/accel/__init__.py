"""The numerics of :mod:`pkgym.sim` on accelerators: the same closed forms on torch tensors.

Kept out of ``pkgym.sim``, which stays numpy-only (docs/architecture.md), and out of
``import pkgym``: torch is imported only by :mod:`pkgym.accel.interval_torch`, which an env
loads when asked for ``backend="torch"``. :mod:`pkgym.accel.backend` names the backends and
picks the device.
"""
