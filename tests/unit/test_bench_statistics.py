"""The statistics bench/bruteforce.py judges known against unknown accounts with (the bench itself is not a test)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bruteforce(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # the bench's modules import each other by their bare names
    return importlib.import_module("bruteforce")


def test_quantiles_interpolate_between_the_sorted_values(bruteforce):
    values = [4.0, 1.0, 3.0, 2.0]
    assert bruteforce.quantile(values, 0.0) == 1.0
    assert bruteforce.quantile(values, 0.25) == pytest.approx(1.75)
    assert bruteforce.quantile(values, 0.5) == pytest.approx(2.5)
    assert bruteforce.quantile(values, 1.0) == 4.0


def test_spread_gives_the_median_quartiles_and_deviations(bruteforce):
    s = bruteforce.spread([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s["median"], s["p25"], s["p75"], s["iqr"]) == (3.0, 2.0, 4.0, 2.0)
    assert s["mad"] == 1.0  # |1-3|, |2-3|, 0, |4-3|, 97: their median; the outlier does not move it


def test_a_shift_larger_than_the_spread_is_above_the_noise(bruteforce):
    base = [v / 20 for v in range(200)]  # evenly 0 to 9.95: IQR 4.975
    result = bruteforce.compare([v + 6 for v in base], base)
    assert result["median_difference"] == pytest.approx(6.0)
    assert result["noise_iqr"] == pytest.approx(4.975)
    assert result["above_noise"] is True and result["verdict"] == "differs by more than the noise"


def test_a_small_steady_shift_is_below_the_noise_but_resolved(bruteforce):
    base = [v / 20 for v in range(200)]
    result = bruteforce.compare([v + 2 for v in base], base)
    assert result["above_noise"] is False
    assert result["ci95_low"] > 0
    assert result["verdict"].startswith("a difference below the noise, but resolved")


def test_the_same_samples_show_no_difference(bruteforce):
    base = [v / 20 for v in range(200)]
    result = bruteforce.compare(list(base), base)
    assert result["median_difference"] == 0.0 and result["above_noise"] is False
    assert result["ci95_low"] <= 0 <= result["ci95_high"]
    assert result["verdict"] == "no difference resolved"
