"""Level 1C: an L1A delivery to orthorectified top-of-atmosphere reflectance on the site's grid.

- :mod:`~take5_ops.l1c.processor`: :func:`process_l1c`, the product folder;
- :mod:`~take5_ops.l1c.radiometry`: DN -> radiance -> TOA reflectance, its int16 encoding;
- :mod:`~take5_ops.l1c.rpc`, :mod:`~take5_ops.l1c.ortho`: the RPC model and the orthorectification;
- :mod:`~take5_ops.l1c.footprint`, :mod:`~take5_ops.l1c.metadata`: the scene's footprint, the product metadata.
"""
