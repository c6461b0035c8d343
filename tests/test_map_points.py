"""The map's points as it draws them (Qt-free): shades, shown rows and the line's breaks."""

import numpy as np

from explorer.latent.map_points import map_points, shade

STEPS = 256


def test_values_take_rows_of_the_table_from_the_lowest_finite_value_to_the_highest():
    values = np.array([np.nan, 2.0, np.inf, 4.0, -np.inf, 3.0])
    rows, limits = shade(values, False, STEPS)
    np.testing.assert_array_equal(rows, [0, 0, STEPS - 1, STEPS - 1, 0, 128])
    assert limits == (2.0, 4.0)
    rows, limits = shade(np.array([2.0, 4.0, 3.0]), False, STEPS)
    np.testing.assert_array_equal(rows, [0, STEPS - 1, 128])
    assert shade(np.array([np.nan, np.nan]), False, STEPS)[1] is None


def test_categories_take_their_number_modulo_the_table():
    rows, limits = shade(np.array([0, 3, 9, 10]), True, 10)
    np.testing.assert_array_equal(rows, [0, 3, 9, 0])
    assert limits is None


def test_hidden_rows_are_left_out_and_the_line_breaks_between_groups_and_gaps():
    embedding = np.arange(16, dtype=np.float64).reshape(8, 2)
    values = np.arange(8.0)
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    shown = np.array([True, True, False, True, True, True, True, True])
    points = map_points(embedding, values, False, STEPS, shown, groups)
    np.testing.assert_array_equal(points.rows, [0, 1, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(points.shown, embedding[points.rows])
    assert points.embedding.dtype == np.float32
    # 0-1 joined; 1-3 skip a hidden row; 3-4-5 one video; 5-6 another video; 6-7 joined
    np.testing.assert_array_equal(points.joins, [True, False, True, True, False, True])
    np.testing.assert_array_equal(points.shade, points.shading.shade[points.rows])
    every = map_points(embedding, values, False, STEPS)
    assert every.joins is None and every.shown is every.embedding


def test_a_second_layout_of_the_same_values_keeps_their_shading_and_new_values_do_not():
    values = np.linspace(0.0, 10.0, 50)
    first = map_points(np.zeros((50, 2)), values, False, STEPS)
    again = map_points(np.ones((50, 2)), values, False, STEPS, shading=first.shading)
    assert again.shading is first.shading
    longer = map_points(np.ones((40, 2)), values, False, STEPS, shading=first.shading)
    assert longer.shading is not first.shading and len(longer.shade) == 40
    other = map_points(np.ones((50, 2)), values.copy(), False, STEPS, shading=first.shading)
    assert other.shading is not first.shading
    np.testing.assert_array_equal(other.shade, first.shade)
