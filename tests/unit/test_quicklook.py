"""Quicklooks are cropped to the scene: no black frame around a scene smaller than its site grid."""

from __future__ import annotations

import numpy as np

from take5_ops.products.quicklook import crop_to_data, to_rgb


def test_a_scene_smaller_than_its_grid_is_cropped_to_its_rows_and_columns():
    band = np.full((60, 80), -10000, np.int16)  # no-data everywhere but a tilted patch
    for row in range(10, 40):
        band[row, 20 + row // 2:50 + row // 2] = 1500
    rgb = to_rgb(dict.fromkeys(("XS1", "XS2", "XS3"), band), 1e-4, -10000)
    cropped = crop_to_data(rgb)
    assert cropped.shape == (3, 30, 44)  # rows 10..39, columns 25..68
    assert cropped[:, 0, :].any() and cropped[:, -1, :].any() and cropped[:, :, 0].any() and cropped[:, :, -1].any()
    assert np.array_equal(cropped, rgb[:, 10:40, 25:69])


def test_an_empty_quicklook_is_left_alone():
    rgb = np.zeros((3, 5, 7), np.uint8)
    assert crop_to_data(rgb) is rgb
