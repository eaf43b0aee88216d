"""What every processed product shares: the model and its manifest (:mod:`~take5_ops.products.product`),
COG writing (:mod:`~take5_ops.products.cog`), quicklooks (:mod:`~take5_ops.products.quicklook`) and the
work-bucket workspace (:mod:`~take5_ops.products.workspace`)."""
