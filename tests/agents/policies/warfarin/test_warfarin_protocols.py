"""Warfarin dosing: IWPC formulas by hand, and each protocol's rule per INR band."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pytest

from agents.policies.warfarin.iwpc import (
    EuPactInitiation,
    FixedInitiation,
    IwpcInitiation,
    eupact_loading_doses_mg,
    iwpc_clinical_weekly_dose_mg,
    iwpc_modified_weekly_dose_mg,
    iwpc_pharmacogenetic_weekly_dose_mg,
)
from agents.policies.warfarin.protocols import (
    AuroraInitiation,
    AuroraPolicy,
    FixedDosePolicy,
    IntermountainPolicy,
    ravvaz_arms,
)
from pkgym.evaluation.policy import Policy
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, RACES, VKORC1_GENOTYPES

N_DAYS = 90
BASELINE_INR = 1.0

# (age y, height cm, weight kg, race, CYP2C9, VKORC1, amiodarone, enzyme inducer)
PATIENTS = (
    (65.0, 175.0, 80.0, "white", "*1/*1", "G/A", 0, 0),
    (72.0, 158.0, 55.0, "asian", "*1/*3", "A/A", 1, 0),
    (45.0, 183.0, 95.0, "black", "*2/*3", "G/G", 0, 1),
    (95.0, 170.0, 70.0, "other", "*3/*3", "A/A", 0, 0),
    (58.0, 168.0, 72.0, "white", "unknown", "unknown", 0, 0),
    (30.0, 180.0, 100.0, "white", "*1/*2", "G/G", 1, 1),
    (81.0, 160.0, 62.0, "white", "*2/*2", "G/A", 0, 0),
)
# sqrt(weekly dose) written out from the IWPC 2009 Appendix coefficients, age as decades.
PGX_BY_HAND = (
    (5.6044 - 0.2614 * 6 + 0.0087 * 175 + 0.0128 * 80 - 0.8677) ** 2,
    (5.6044 - 0.2614 * 7 + 0.0087 * 158 + 0.0128 * 55 - 1.6974 - 0.9357 - 0.1092 - 0.5503) ** 2,
    (5.6044 - 0.2614 * 4 + 0.0087 * 183 + 0.0128 * 95 - 1.9206 - 0.2760 + 1.1816) ** 2,
    (5.6044 - 0.2614 * 9 + 0.0087 * 170 + 0.0128 * 70 - 1.6974 - 2.3312 - 0.1032) ** 2,
    (5.6044 - 0.2614 * 5 + 0.0087 * 168 + 0.0128 * 72 - 0.4854 - 0.2188) ** 2,
    (5.6044 - 0.2614 * 3 + 0.0087 * 180 + 0.0128 * 100 - 0.5211 - 0.5503 + 1.1816) ** 2,
    (5.6044 - 0.2614 * 8 + 0.0087 * 160 + 0.0128 * 62 - 1.0616 - 0.8677) ** 2,
)
CLINICAL_BY_HAND = (
    (4.0376 - 0.2546 * 6 + 0.0118 * 175 + 0.0134 * 80) ** 2,
    (4.0376 - 0.2546 * 7 + 0.0118 * 158 + 0.0134 * 55 - 0.6752 - 0.5695) ** 2,
    (4.0376 - 0.2546 * 4 + 0.0118 * 183 + 0.0134 * 95 + 0.4060 + 1.2799) ** 2,
    (4.0376 - 0.2546 * 9 + 0.0118 * 170 + 0.0134 * 70 + 0.0443) ** 2,
    (4.0376 - 0.2546 * 5 + 0.0118 * 168 + 0.0134 * 72) ** 2,
    (4.0376 - 0.2546 * 3 + 0.0118 * 180 + 0.0134 * 100 - 0.5695 + 1.2799) ** 2,
    (4.0376 - 0.2546 * 8 + 0.0118 * 160 + 0.0134 * 62) ** 2,
)


def _covariates(age: float = 65.0, height: float = 175.0, weight: float = 80.0,
                race: str = "white", amiodarone: float = 0.0, inducer: float = 0.0,
                female: float = 0.0) -> np.ndarray:
    """One env's covariate vector (10,) in the env's layout."""
    return np.array([age, female, weight, height, *(np.array(RACES) == race), amiodarone,
                     inducer], dtype=np.float64)


def _genotype(cyp2c9: str = "*1/*1", vkorc1: str = "G/A") -> np.ndarray:
    """One env's genotype one-hot (9,); "unknown" leaves its block all zero."""
    return np.concatenate([np.array(CYP2C9_DIPLOTYPES) == cyp2c9,
                           np.array(VKORC1_GENOTYPES) == vkorc1]).astype(np.float64)


def _observation(day: int, inrs: Mapping[int, float], covariates: np.ndarray | None = None,
                 genotype: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A batched (n_envs = 1) float32 observation on ``day``; ``inrs`` maps day -> INR."""
    measured = sorted((d, v) for d, v in inrs.items() if d <= day)
    slots = np.zeros((3, N_DAYS))
    for k, (d, v) in enumerate(measured):
        slots[:, k] = (d, v, 1.0)
    single = {"covariates": _covariates() if covariates is None else covariates,
              "doses_mg": np.zeros(N_DAYS), "inr_days": slots[0], "inr_values": slots[1],
              "inr_mask": slots[2], "day": np.array([day]),
              "days_since_last_inr": np.array([day - measured[-1][0]]),
              "days_to_next_inr": np.array([1.0])}
    if genotype is not None:
        single["genotype"] = genotype
    return {key: np.asarray(value, dtype=np.float32)[None] for key, value in single.items()}


def _stack(observations: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Observations of single envs stacked into one batch."""
    return {key: np.concatenate([o[key] for o in observations]) for key in observations[0]}


def _run(policy: Policy, inrs: Mapping[int, float], n_days: int,
         **kwargs: np.ndarray) -> np.ndarray:
    """Act each day 0..n_days-1 for one patient; rows of [dose] or [dose, retest days]."""
    policy.reset(1)
    inrs = {0: BASELINE_INR, **inrs}
    rows = [policy.act(_observation(day, inrs, **kwargs))[0] for day in range(n_days)]
    return np.array(rows).reshape(n_days, -1)


def test_iwpc_pharmacogenetic__matches_hand_arithmetic() -> None:
    """The PGx formula equals the coefficients worked by hand, batched over 7 patterns."""
    columns = list(zip(*PATIENTS, strict=True))
    doses = iwpc_pharmacogenetic_weekly_dose_mg(*columns)
    np.testing.assert_allclose(doses, PGX_BY_HAND, rtol=0, atol=1e-9)


def test_iwpc_clinical__matches_hand_arithmetic() -> None:
    """The clinical formula (no genotype) equals the hand-worked coefficients."""
    age, height, weight, race, _, _, amiodarone, inducer = zip(*PATIENTS, strict=True)
    doses = iwpc_clinical_weekly_dose_mg(age, height, weight, race, amiodarone, inducer)
    np.testing.assert_allclose(doses, CLINICAL_BY_HAND, rtol=0, atol=1e-9)


def test_iwpc__scalar_equals_batched_and_decades_floor() -> None:
    """Scalars give the batched values; age 69.9 is decade 6 like 60, and 95 is capped at 9."""
    one = iwpc_pharmacogenetic_weekly_dose_mg(*PATIENTS[0])
    assert float(one) == pytest.approx(PGX_BY_HAND[0], abs=1e-9)
    ages = iwpc_clinical_weekly_dose_mg([60.0, 69.9, 90.0, 99.0], 170, 70, "white", 0, 0)
    assert ages[0] == ages[1] and ages[2] == ages[3]


def test_iwpc__rejects_unknown_labels() -> None:
    """Misspelt races or genotypes, and "unknown" in the clinical race, raise ValueError."""
    with pytest.raises(ValueError, match="race"):
        iwpc_clinical_weekly_dose_mg(60, 170, 70, "White", 0, 0)
    with pytest.raises(ValueError, match="cyp2c9"):
        iwpc_pharmacogenetic_weekly_dose_mg(60, 170, 70, "white", "*1/*4", "G/G", 0, 0)
    with pytest.raises(ValueError, match="race"):
        iwpc_clinical_weekly_dose_mg(60, 170, 70, "unknown", 0, 0)


def test_iwpc_modified__continuous_age_and_no_race_term() -> None:
    """EU-PACT's formula uses age / 10 (6.5 at 65 y) and no race or unknown terms."""
    expected = (5.6044 - 0.2614 * 6.5 + 0.0087 * 175 + 0.0128 * 80 - 1.6974 - 0.5211
                - 0.5503) ** 2
    dose = iwpc_modified_weekly_dose_mg(65, 175, 80, "*1/*2", "A/A", 1)
    assert float(dose) == pytest.approx(expected, abs=1e-9)
    with pytest.raises(ValueError, match="cyp2c9"):
        iwpc_modified_weekly_dose_mg(65, 175, 80, "unknown", "A/A", 1)


def test_eupact_loading__matches_hand_arithmetic() -> None:
    """LD3 = D / ((1 - e^-24k)(1 + e^-24k + e^-48k)); days get D + 1.5, 1, 0.5 x (LD3 - D)."""
    loading = 2.0 / ((1 - np.exp(-24 * 0.0075)) * (1 + np.exp(-24 * 0.0075) + np.exp(-48 * 0.0075)))
    expected = [2.0 + 1.5 * (loading - 2.0), loading, 2.0 + 0.5 * (loading - 2.0)]
    doses = eupact_loading_doses_mg([2.0], ["*3/*3"])
    np.testing.assert_allclose(doses, [expected], rtol=0, atol=1e-9)


def test_iwpc_initiation__gives_rounded_daily_dose_until_first_decision() -> None:
    """IWPC arms give weekly / 7 on the 0.5 mg grid from day 0 until the first INR (day 2)."""
    covariates = _covariates(72.0, 158.0, 55.0, "asian", amiodarone=1.0)
    genotype = _genotype("*1/*3", "A/A")
    pgx = _run(AuroraPolicy(IwpcInitiation(True)), {}, 2, covariates=covariates,
               genotype=genotype)
    clinical = _run(AuroraPolicy(IwpcInitiation(False)), {}, 2, covariates=covariates)
    # PGx: 6.5567 mg/week / 7 = 0.9367 -> 1.0; clinical: 13.0473 / 7 = 1.8639 -> 2.0.
    assert PGX_BY_HAND[1] == pytest.approx(6.5567, abs=1e-4)
    assert CLINICAL_BY_HAND[1] == pytest.approx(13.0473, abs=1e-4)
    assert pgx[:, 0].tolist() == [1.0, 1.0] and clinical[:, 0].tolist() == [2.0, 2.0]


def test_iwpc_initiation__unknown_genotype_uses_unknown_terms() -> None:
    """An all-zero genotype block reads as "unknown": the formula's unknown-genotype terms."""
    covariates = _covariates(58.0, 168.0, 72.0)
    dose = IwpcInitiation(True).doses_mg(
        _observation(0, {0: 1.0}, covariates, _genotype("unknown", "unknown")), np.zeros(1))
    assert dose.tolist() == [np.floor(PGX_BY_HAND[4] / 7 / 0.5 + 0.5) * 0.5]


def test_pgx_policy__without_genotype_raises() -> None:
    """A PGx arm on the plain env's observation names the genotype-guided env."""
    with pytest.raises(ValueError, match="pkgym/WarfarinPGx-v0"):
        AuroraPolicy(IwpcInitiation(True)).act(_observation(0, {0: 1.0}))


def test_eupact_initiation__loads_days_0_to_2_then_acts_on_day_3() -> None:
    """EU-PACT arms give the 3 loading doses, then D; Aurora first acts on env day 3."""
    daily = (5.6044 - 0.2614 * 6.5 + 0.0087 * 175 + 0.0128 * 80 - 0.8677) ** 2 / 7  # 4.4546
    doses = _run(AuroraPolicy(EuPactInitiation(), schedules_tests=True), {2: 1.2}, 4,
                 genotype=_genotype("*1/*1", "G/A"))
    assert daily == pytest.approx(4.4546, abs=1e-4)
    # 6.7592, 5.9910, 5.2228, 4.4546 mg on the grid; the INR of day 2 is not acted on.
    assert doses[:, 0].tolist() == [7.0, 6.0, 5.0, 4.5] and doses[0, 1] == 3.0


@pytest.mark.parametrize(("inr", "daily", "given", "retest"), [
    (1.2, 5.75, 6.0, 7), (1.6, 5.5, 5.5, 7), (1.9, 5.375, 5.5, 7), (2.5, 5.0, 5.0, 1),
    (3.2, 4.625, 4.5, 7), (3.6, 4.5, 4.5, 7)])
def test_aurora__band_changes_the_dose_by_its_percentage(inr: float, daily: float, given: float,
                                                        retest: int) -> None:
    """From 5 mg: +15 / +10 / +7.5 / 0 / -7.5 / -10 %, retest 7 d (1 d at a 1st in range)."""
    policy = AuroraPolicy(FixedInitiation(5.0), schedules_tests=True)
    rows = _run(policy, {2: inr}, 3)
    assert rows[:2, 0].tolist() == [5.0, 5.0] and rows[0, 1] == 2
    assert policy.daily_doses_mg[0] == pytest.approx(daily, abs=1e-12)
    assert rows[2].tolist() == [given, retest]


def test_aurora__inr_4_to_5_holds_two_doses_then_cuts_12_5_percent() -> None:
    """INR 4.5: 0 mg today and tomorrow, then 5 x 0.875 = 4.375 -> 4.5 mg; retest in 7 d."""
    rows = _run(AuroraPolicy(FixedInitiation(5.0), schedules_tests=True), {2: 4.5}, 6)
    assert rows[2:, 0].tolist() == [0.0, 0.0, 4.5, 4.5] and rows[2, 1] == 7


def test_aurora__inr_above_5_holds_until_at_most_3_then_cuts_15_percent() -> None:
    """INR 6: hold, retest 2 d; 4.0 is still > 3: hold, 2 d; 2.8: 5 x 0.85 = 4.25 -> 4.5, 7 d."""
    rows = _run(AuroraPolicy(FixedInitiation(5.0), schedules_tests=True),
                {2: 6.0, 4: 4.0, 6: 2.8}, 8)
    assert rows[2:, 0].tolist() == [0.0, 0.0, 0.0, 0.0, 4.5, 4.5]
    assert rows[[2, 4, 6], 1].tolist() == [2, 2, 7]
    unscheduled = _run(AuroraPolicy(FixedInitiation(5.0)), {2: 6.0, 9: 2.0}, 10)
    assert unscheduled[2:9, 0].tolist() == [0.0] * 7 and unscheduled[9, 0] == 4.5


def test_aurora__in_range_streak_sets_retests_1_5_7_14_28() -> None:
    """Consecutive in-range INRs retest after 1, 5, 7, 14, 28, 28 d; an INR out resets it."""
    days = (2, 3, 8, 15, 29, 57, 85)
    rows = _run(AuroraPolicy(FixedInitiation(5.0), schedules_tests=True),
                dict.fromkeys(days, 2.5), 86)
    assert rows[list(days), 1].tolist() == [1, 5, 7, 14, 28, 28, 28]
    assert set(rows[:, 0].tolist()) == {5.0}
    broken = _run(AuroraPolicy(FixedInitiation(5.0), schedules_tests=True),
                  {2: 2.5, 3: 2.5, 8: 1.9, 15: 2.5}, 16)
    assert broken[[2, 3, 8, 15], 1].tolist() == [1, 5, 7, 1]


@pytest.mark.parametrize(("age", "inr", "start", "after"), [
    (50.0, 2.2, 10.0, 5.0), (50.0, 1.6, 10.0, 11.0), (70.0, 1.2, 5.0, 5.75), (70.0, 3.5, 5.0, 5.0)])
def test_aurora_initiation__age_start_and_day_3_rule(age: float, inr: float, start: float,
                                                    after: float) -> None:
    """10 mg under 65 else 5 mg; at the day-2 INR: >= 2 -> 5 mg, else the Aurora increase."""
    policy = AuroraPolicy(AuroraInitiation(), schedules_tests=True)
    rows = _run(policy, {2: inr}, 3, covariates=_covariates(age))
    assert rows[:2, 0].tolist() == [start, start] and rows[2, 1] == 2
    assert policy.daily_doses_mg[0] == pytest.approx(after, abs=1e-12)


def test_aurora_initiation__next_inr_goes_to_the_table() -> None:
    """After the day-3 rule (5 mg) the day-4 INR of 1.2 gets Aurora's +15 %: 5.75 -> 6 mg."""
    rows = _run(AuroraPolicy(AuroraInitiation(), schedules_tests=True), {2: 2.2, 4: 1.2}, 5,
                covariates=_covariates(50.0))
    assert rows[:, 0].tolist() == [10.0, 10.0, 5.0, 5.0, 6.0] and rows[4, 1] == 7


@pytest.mark.parametrize(("inr", "today", "daily", "tomorrow", "retest"), [
    (1.5, 10.0, 5.5, 5.5, 5), (1.7, 7.5, 5.25, 5.5, 7), (1.9, 5.0, 5.0, 5.0, 14),
    (2.5, 5.0, 5.0, 5.0, 14), (3.2, 5.0, 5.0, 5.0, 14), (3.6, 2.5, 4.5, 4.5, 7),
    (4.5, 0.0, 4.5, 4.5, 7), (5.5, 0.0, 4.25, 0.0, 2)])
def test_intermountain__zone_rule_on_first_visit(inr: float, today: float, daily: float,
                                                 tomorrow: float, retest: int) -> None:
    """From 5 mg at the day-7 INR: one-off dose today, weekly % change, next test by zone."""
    policy = IntermountainPolicy(FixedInitiation(5.0), schedules_tests=True)
    rows = _run(policy, {7: inr}, 9)
    assert rows[0, 1] == 7 and set(rows[:7, 0].tolist()) == {5.0}
    assert rows[7].tolist() == [today, retest] and rows[8, 0] == tomorrow
    assert policy.daily_doses_mg[0] == pytest.approx(daily, abs=1e-12)


@pytest.mark.parametrize(("inr", "given", "daily", "retest"), [
    (1.5, 11.0, 6.05, 14), (1.9, 5.5, 5.25, 14), (2.5, 5.0, 5.0, 28), (3.2, 5.0, 4.75, 14),
    (3.6, 2.5, 4.05, 14)])
def test_intermountain__repeated_zone(inr: float, given: float, daily: float,
                                      retest: int) -> None:
    """The same zone at days 7 and 21: yellow zones change +-5 % only now; retests lengthen.

    Action low: 2 x 5.5 today, 5.5 x 1.1 = 6.05; yellow low: 5 x 1.05 = 5.25 -> 5.5 from
    today; green: 28 d; yellow high: 5 x 0.95 = 4.75 -> 5.0; red high: 4.5 / 2 = 2.25 -> 2.5
    today, 4.5 x 0.9 = 4.05.
    """
    policy = IntermountainPolicy(FixedInitiation(5.0), schedules_tests=True)
    rows = _run(policy, {7: inr, 21: inr}, 22)
    assert policy.daily_doses_mg[0] == pytest.approx(daily, abs=1e-12)
    assert rows[21].tolist() == [given, retest]


def test_intermountain__action_high_holds_until_recheck_below_red() -> None:
    """INR 5.5: hold 2 days; recheck 4.0 holds 2 more; recheck 2.6 resumes 4.25 -> 4.5 mg, 7 d."""
    rows = _run(IntermountainPolicy(FixedInitiation(5.0), schedules_tests=True),
                {7: 5.5, 9: 4.0, 11: 2.6}, 13)
    assert rows[7:, 0].tolist() == [0.0, 0.0, 0.0, 0.0, 4.5, 4.5]
    assert rows[[7, 9, 11], 1].tolist() == [2, 2, 7]
    unscheduled = _run(IntermountainPolicy(FixedInitiation(5.0)), {7: 5.5}, 12)
    assert unscheduled[7:, 0].tolist() == [0.0, 0.0, 4.5, 4.5, 4.5]


def test_intermountain__ignores_inrs_before_day_7() -> None:
    """The table starts on env day 7 (Anderson's day 8): a day-3 INR leaves the dose alone."""
    rows = _run(IntermountainPolicy(FixedInitiation(5.0)), {3: 1.2, 7: 1.2}, 8)
    assert rows[:7, 0].tolist() == [5.0] * 7 and rows[7, 0] == 10.0


@pytest.mark.parametrize("make", [
    lambda: AuroraPolicy(FixedInitiation(5.0), schedules_tests=True),
    lambda: IntermountainPolicy(FixedInitiation(5.0), schedules_tests=True)])
def test_titration__day_zero_forgets_the_previous_patient(make: Callable[[], Policy]) -> None:
    """After day 0 a used policy gives the same doses as a fresh one."""
    inrs = {2: 1.2, 7: 1.5, 9: 2.5, 12: 6.0}
    used = make()
    _run(used, inrs, 13)
    again = [used.act(_observation(day, {0: 1.0, **inrs}))[0] for day in range(13)]
    np.testing.assert_array_equal(np.array(again), _run(make(), inrs, 13))


def _random_trajectories(rng: np.random.Generator, n_envs: int) -> list[dict[int, float]]:
    """INR draws on random clinic days (every 1-9 days) for ``n_envs`` patients."""
    trajectories = []
    for _ in range(n_envs):
        days = np.cumsum(rng.integers(1, 10, size=N_DAYS))
        values = np.round(rng.uniform(0.9, 7.0, size=N_DAYS), 2)
        trajectories.append({0: BASELINE_INR} | {int(d): float(v) for d, v in
                                                  zip(days, values, strict=True) if d < N_DAYS})
    return trajectories


@pytest.mark.parametrize("name", sorted(ravvaz_arms()))
@pytest.mark.parametrize("schedules_tests", [False, True])
def test_arms__batched_equals_per_env_and_doses_on_grid(name: str,
                                                       schedules_tests: bool) -> None:
    """A batch of 6 patients gets each patient's own decisions; doses on the 0.5 mg grid."""
    rng = np.random.default_rng(7)
    patients = [(_covariates(age, height, weight, race, amio, inducer), _genotype(cyp, vkor))
                for age, height, weight, race, cyp, vkor, amio, inducer in PATIENTS
                if cyp != "unknown"]  # EU-PACT needs a known CYP2C9
    trajectories = _random_trajectories(rng, len(patients))
    batched = ravvaz_arms(schedules_tests)[name]
    singles = [ravvaz_arms(schedules_tests)[name] for _ in patients]
    batched.reset(len(patients))
    for day in range(N_DAYS):
        observations = [_observation(day, inrs, c, g)
                        for (c, g), inrs in zip(patients, trajectories, strict=True)]
        actions = batched.act(_stack(observations))
        one_by_one = [p.act(o)[0] for p, o in zip(singles, observations, strict=True)]
        np.testing.assert_array_equal(actions, np.array(one_by_one))
        doses = actions[:, 0] if schedules_tests else actions
        assert np.all((doses >= 0) & (doses <= 15) & (doses * 2 == np.round(doses * 2)))
        if schedules_tests:
            retests = actions[:, 1]
            assert np.all((retests >= 1) & (retests <= 28) & (retests == np.round(retests)))


def test_ravvaz_arms__names_and_protocol() -> None:
    """Arms are keyed by their names, satisfy Policy and read no hidden state."""
    arms = ravvaz_arms()
    assert {"fixed_5mg", "aurora", "iwpc_pgx+aurora", "iwpc_clinical+aurora",
            "iwpc_pgx+intermountain", "iwpc_clinical+intermountain", "eupact_pgx+aurora",
            "eupact_pgx+intermountain"} == set(arms)
    for name, arm in arms.items():
        assert arm.name == name and isinstance(arm, Policy) and not arm.reads_hidden_state
    plain = ravvaz_arms(include_pharmacogenetic=False)
    for arm in plain.values():  # none reads the genotype
        assert arm.act(_observation(0, {0: 1.0})).shape == (1,)


def test_fixed_dose__same_dose_whatever_the_inr() -> None:
    """Fixed 5 mg ignores INRs; scheduling asks for a test every 7 days; off-grid doses fail."""
    rows = _run(FixedDosePolicy(5.0, schedules_tests=True), {2: 6.0, 5: 1.1}, 7)
    assert rows.tolist() == [[5.0, 7.0]] * 7
    with pytest.raises(ValueError, match="multiple of 0.5"):
        FixedDosePolicy(5.2)
