"""What users see, in the distribution bucket: publication with its version switch
(:mod:`~take5_ops.distribution.publish`), the STAC catalog (:mod:`~take5_ops.distribution.catalog`),
Metalinks (:mod:`~take5_ops.distribution.metalink`), public and presigned URLs
(:mod:`~take5_ops.distribution.access`), search (:mod:`~take5_ops.distribution.search`) and the static
website (:mod:`~take5_ops.distribution.website`)."""
