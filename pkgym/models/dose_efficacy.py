"""Efficacy with toxicity per dose level: random truths, BOIN12 utilities, the true OBD.

The truth of a phase I/II trial is, per dose level j, the joint probabilities of a DLT and of
a response: p_T,j (toxicity), p_E,j (efficacy) and p_TE,j (both). This module draws random
truths and scores doses by the utility of Lin R, Zhou Y, Yan F, Li D, Yuan Y (2020). BOIN12:
Bayesian optimal interval phase I/II trial design for utility-based dose finding in
immunotherapy and targeted therapies. JCO Precis Oncol 4:PO.20.00257 (utilities 100 for a
response without DLT, u2 for neither, u3 for both, 0 for a DLT without response). The same
formula as :attr:`pkgym.trials.phase12_simulation.Phase12Scenario.true_utilities`, written
here because environments sit below trials in the layering (tested equal).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.models.dose_toxicity import RandomDoseToxicity, closest_levels

U_EFFICACY_ONLY = 100.0
"""Utility of a response without a DLT (Lin et al. 2020 fix it at 100)."""
U_TOXICITY_ONLY = 0.0
"""Utility of a DLT without a response (Lin et al. 2020 fix it at 0)."""
U_NEITHER, U_BOTH = 40.0, 60.0
"""Default utilities of no DLT and no response (u2) and of both (u3): Lin et al. 2020."""
PHI_T, PHI_E = 0.35, 0.25
"""Default highest acceptable DLT rate and lowest acceptable response rate: Lin et al. 2020."""


def phase12_utilities(dlt: np.ndarray, response: np.ndarray, both: np.ndarray,
                      utility_neither: float, utility_both: float) -> np.ndarray:
    """Mean BOIN12 utility of each level (0-100), any shape (arrays broadcast).

    u = 100 Pr(E, no T) + u2 Pr(no E, no T) + u3 Pr(E, T) + 0 Pr(T, no E).

    Examples:
        >>> phase12_utilities(np.array([0.05, 0.3]), np.array([0.1, 0.5]),
        ...                   np.array([0.005, 0.15]), 40.0, 60.0).round(2).tolist()
        [44.0, 58.0]
    """
    neither = 1.0 - dlt - response + both
    return (U_EFFICACY_ONLY * (response - both) + utility_neither * neither
            + utility_both * both + U_TOXICITY_ONLY * (dlt - both))


def optimal_biological_doses(utilities: np.ndarray, mtd: np.ndarray) -> np.ndarray:
    """True OBD of each trial: the first level of highest utility at or below its MTD (n,).

    Args:
        utilities: true utility per level (n, n_doses).
        mtd: true MTD per trial (n,), zero-based.

    Examples:
        >>> optimal_biological_doses(np.array([[44.0, 60.0, 58.0, 70.0]]), np.array([2]))
        array([1])
    """
    levels = np.arange(utilities.shape[1])[None, :]
    return np.where(levels <= mtd[:, None], utilities, -np.inf).argmax(axis=1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RandomEfficacyToxicity:
    """Random phase I/II truths: a pseudo-uniform toxicity curve and a plateau efficacy curve.

    Toxicity: :class:`RandomDoseToxicity` (the pseudo-uniform generator of Clertant &
    O'Quigley 2017, J R Stat Soc B 79:1487) with target phi_T. Efficacy (our choice; monotone
    or plateau, the shapes that motivate OBD designs for targeted and immune therapies, Lin
    et al. 2020), so that the OBD is spread over the levels rather than piled on the lowest:

    1. the plateau level m is uniform over the J levels (m = J - 1: increasing throughout);
    2. toxicity curves are drawn until the curve's MTD is at or above m (the plateau is
       reached at a tolerable dose; the MTD is then no longer uniform: Pr(MTD = j) grows
       with j);
    3. the plateau response probability E ~ Uniform(``efficacy_low``, ``efficacy_high``);
    4. levels below m take m draws of Uniform(``floor``, E), sorted; levels >= m take E.

    Outcomes are independent given the dose: p_TE = p_T p_E (our choice). The true OBD is
    computed from the truth (:func:`optimal_biological_doses`), m only shapes it.

    Attributes:
        n_doses: number of dose levels J (2..20).
        target_dlt_rate: phi_T of the toxicity generator, in (0, 1).
        efficacy_low, efficacy_high: range of the plateau response probability (our choice
            0.3, 0.8: above BOIN12's phi_E = 0.25, so some dose is worth finding),
            0 < floor < low <= high < 1.
        floor: lowest response probability below the plateau (our choice 0.02).
        max_rounds: toxicity curves drawn at most before an error (step 2).

    Examples:
        >>> tox, eff, both = RandomEfficacyToxicity().sample(np.random.default_rng(0))
        >>> tox.shape, bool(np.all(np.diff(eff) >= 0)), bool(np.allclose(both, tox * eff))
        ((5,), True, True)
    """

    n_doses: int = 5
    target_dlt_rate: float = PHI_T
    efficacy_low: float = 0.3
    efficacy_high: float = 0.8
    floor: float = 0.02
    max_rounds: int = 10_000

    def __post_init__(self) -> None:
        """Validate every field, naming it and the allowed values."""
        if not 2 <= self.n_doses <= 20:
            raise ValueError(f"n_doses must be in 2..20, got {self.n_doses}")
        if not 0 < self.floor < self.efficacy_low <= self.efficacy_high < 1:
            raise ValueError(f"need 0 < floor < efficacy_low <= efficacy_high < 1, got "
                             f"{self.floor}, {self.efficacy_low}, {self.efficacy_high}")
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {self.max_rounds}")
        self.toxicity  # validates target_dlt_rate  # noqa: B018

    @property
    def toxicity(self) -> RandomDoseToxicity:
        """The toxicity curve generator."""
        return RandomDoseToxicity(n_doses=self.n_doses, target_dlt_rate=self.target_dlt_rate)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One truth: p_T, p_E and p_TE per level (each (n_doses,)), in the steps' order."""
        plateau = int(rng.integers(0, self.n_doses))
        toxicity = self.toxicity
        for _ in range(self.max_rounds):
            tox = toxicity.sample(rng, 1)[0]
            if closest_levels(tox[None, :], self.target_dlt_rate)[0] >= plateau:
                break
        else:
            raise RuntimeError(f"no toxicity curve with its MTD at or above level {plateau} "
                               f"in {self.max_rounds} draws")
        top = rng.uniform(self.efficacy_low, self.efficacy_high)
        eff = np.full(self.n_doses, top)
        eff[:plateau] = np.sort(rng.uniform(self.floor, top, size=plateau))
        return tox, eff, tox * eff

