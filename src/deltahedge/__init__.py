"""deltahedge: keep a crypto options book delta-neutral in real time, at the least cost.

Subpackages (imports point downwards only, see DESIGN.md):
``core`` <- ``pricing`` <- ``surface`` <- ``portfolio`` <- ``hedging`` <- ``execution`` <- ``engine``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
