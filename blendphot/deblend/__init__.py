"""Deblending a survey image: the trained networks applied to the natural blends of a mosaic.

The order of the work, one module each: :mod:`~blendphot.deblend.settings` (the ``deblend``
config section), :mod:`~blendphot.deblend.groups` (which objects blend, and in which slots a
network takes them), :mod:`~blendphot.deblend.tiles` (the mosaic cut into tiles with overlap
margins, each group owned by one tile), :mod:`~blendphot.deblend.detect` (sep detections where
no catalogue is given), :mod:`~blendphot.deblend.measure` (one tile: the groups' stamps, the
networks' fluxes with their calibrated errors, sep's photometry of the same objects, the
flags), :mod:`~blendphot.deblend.catalog` (the deblended catalogue's columns, flags and
files), :mod:`~blendphot.deblend.truth` (the catalogue measured against the truth of a drawn
sky, beside the artificial test blends) and :mod:`~blendphot.deblend.figure` (one deblended
region). The workflow's stages are in :mod:`~blendphot.deblend.stages`.
"""
