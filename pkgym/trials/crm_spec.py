"""``crm:key=value,...`` design specs: the power, logistic and BLRM models with their rules.

Grammar (keys in any order, each at most once; defaults in brackets)::

    crm[:key=value[,key=value]...]
    model=power|logistic|blrm [power]
    coherence=0|1 [0]      skip=INT>=0 [0]      max_step=INT>=1|none [none]   (all models)
    half_width=FLOAT [see below]      prior_mtd=INT, 1-based [middle level]   (all models)
    estimate=posterior_mean|plug_in [posterior_mean]   prior_variance=FLOAT [1.34]
    safety_cutoff=FLOAT in (0, 1] [0.9]                 (power and logistic)
    intercept=FLOAT [3]                                 (logistic)
    ewoc=FLOAT [0.25]   low=FLOAT [target - 0.1]   high=FLOAT [target + 0.05]
    sd_alpha=FLOAT [1]  sd_log_beta=FLOAT [1]   correlation=FLOAT [0]   (blrm)

The skeleton is Lee & Cheung's indifference-interval skeleton (half-width [min(0.05,
target/2, (1 - target)/2)], prior MTD [the middle level]), calibrated for the power or the
logistic model. ``crm`` with no option, or ``model=power`` alone, is exactly
``make_design("crm")``. The BLRM places the doses at x_d = logit(s_d) - logit(target) (its
prior median curve passes through the skeleton s) with (alpha, log_beta) ~ N((logit(target),
0), diag(sd_alpha^2, sd_log_beta^2)) [1, 1, correlation 0: values we choose, the standard
deviations of crmPack's documented example prior] and the target interval [low, high) =
[target - 0.1, target + 0.05) (values we choose: target 0.3 gives crmPack's example interval
[0.2, 0.35); NBG 2008 use [0.16, 0.33) for targets near 0.25). With the weakly informative
sd_alpha = 2 of Neuenschwander et al. (2015, Stat Biopharm Res 7:339-354) EWOC stopped 14%
of trials whose lowest dose had a DLT rate of 0.05 (1000 trials, target 0.3), so the default
is tighter.
"""

from __future__ import annotations

import numpy as np

from pkgym.models.dose_toxicity import DoseFindingScenario
from pkgym.trials.crm import CrmDesign, indifference_skeleton
from pkgym.trials.crm_blrm import BlrmDesign
from pkgym.trials.crm_family import (
    CrmRulesDesign,
    LogisticCrmDesign,
    logistic_indifference_skeleton,
)

MODELS = ("power", "logistic", "blrm")
"""Dose-toxicity models of :func:`crm_from_spec`."""
RULE_KEYS = ("coherence", "skip", "max_step")
SKELETON_KEYS = ("half_width", "prior_mtd")
ONE_PARAMETER_KEYS = ("estimate", "prior_variance", "safety_cutoff", "intercept")
BLRM_KEYS = ("ewoc", "low", "high", "sd_alpha", "sd_log_beta", "correlation")
CRM_KEYS = ("model", *RULE_KEYS, *SKELETON_KEYS, *ONE_PARAMETER_KEYS, *BLRM_KEYS)
"""Every key of the ``crm:`` spec."""
_INTEGER_KEYS = ("coherence", "skip", "max_step", "prior_mtd")


def _parse(spec: str) -> dict[str, str]:
    """Key-value pairs of ``crm:key=value,...``, each key known and given once."""
    name, _, text = spec.partition(":")
    if name != "crm":
        raise ValueError(f"design must be 'crm' or 'crm:key=value,...', got {spec!r}")
    options: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = (part.strip() for part in item.partition("="))
        if key not in CRM_KEYS or not equals or not value or key in options:
            raise ValueError(f"design crm: options are key=value pairs separated by commas, "
                             f"each key once, keys {list(CRM_KEYS)}; got {item!r}")
        options[key] = value
    return options


def _number(options: dict[str, str], key: str, default: float) -> float:
    """Option ``key`` as a number (integral for the integer keys), else ``default``."""
    if key not in options:
        return default
    value = options[key]
    try:
        return int(value) if key in _INTEGER_KEYS else float(value)
    except ValueError:
        kind = "an integer" if key in _INTEGER_KEYS else "a number"
        raise ValueError(f"design crm: {key} must be {kind}, got {value!r}") from None


def _max_step(options: dict[str, str]) -> int | None:
    """Option ``max_step``: an integer, or ``none`` (the default) for no limit."""
    if options.get("max_step", "none").lower() == "none":
        return None
    return int(_number(options, "max_step", 0))


def crm_from_spec(
    spec: str, scenario: DoseFindingScenario
) -> CrmDesign | CrmRulesDesign | BlrmDesign:
    """``crm`` or ``crm:key=value[,key=value]`` (keys: :data:`CRM_KEYS`) as a design.

    Args:
        spec: The design's name with its options, as ``pkgym trial --design`` takes it.
        scenario: Supplies the target DLT rate and the number of dose levels.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.25, 0.4, 0.55),
        ...                                target_dlt_rate=0.25)
        >>> type(crm_from_spec("crm", scenario)).__name__
        'CrmDesign'
        >>> design = crm_from_spec("crm:model=logistic,coherence=1", scenario)
        >>> type(design.base).__name__, design.coherence, design.base.intercept
        ('LogisticCrmDesign', True, 3.0)
        >>> crm_from_spec("crm:model=blrm,ewoc=0.3", scenario).ewoc
        0.3
        >>> crm_from_spec("crm:model=probit", scenario)
        Traceback (most recent call last):
        ...
        ValueError: design crm: model must be one of ['power', 'logistic', 'blrm'], got 'probit'
    """
    options = _parse(spec)
    model = options.get("model", "power")
    if model not in MODELS:
        raise ValueError(f"design crm: model must be one of {list(MODELS)}, got {model!r}")
    unused = [key for key in options
              if key in (BLRM_KEYS if model != "blrm" else ONE_PARAMETER_KEYS)
              or (key == "intercept" and model == "power")]
    if unused:
        raise ValueError(f"design crm: {unused} do not apply to model={model}")
    try:
        return _build(model, options, scenario)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith("design crm") else
                         f"design crm: {message}") from None


def _skeleton(model: str, options: dict[str, str], scenario: DoseFindingScenario) -> np.ndarray:
    """The indifference-interval skeleton for the model (power-calibrated for the BLRM)."""
    target, n_doses = scenario.target_dlt_rate, scenario.n_doses
    half_width = _number(options, "half_width", min(0.05, 0.5 * min(target, 1 - target)))
    prior_mtd = _number(options, "prior_mtd", (n_doses + 1) // 2)
    if model == "logistic":
        intercept = _number(options, "intercept", 3.0)
        return logistic_indifference_skeleton(target, half_width, int(prior_mtd), n_doses,
                                              intercept)
    return indifference_skeleton(target, half_width, int(prior_mtd), n_doses)


def _build(model: str, options: dict[str, str], scenario: DoseFindingScenario
           ) -> CrmDesign | CrmRulesDesign | BlrmDesign:
    """The design of a parsed spec."""
    target = scenario.target_dlt_rate
    skeleton = _skeleton(model, options, scenario)
    coherence = _number(options, "coherence", 0)
    if coherence not in (0, 1):
        raise ValueError(f"design crm: coherence must be 0 or 1, got {coherence}")
    rules = {"coherence": bool(coherence), "skip": int(_number(options, "skip", 0)),
             "max_step": _max_step(options)}
    if model == "blrm":
        return BlrmDesign(
            log_dose_ratios=tuple(float(v) for v in np.log(skeleton / (1 - skeleton))
                                  - np.log(target / (1 - target))),
            prior_mean=(float(np.log(target / (1 - target))), 0.0),
            prior_sd=(_number(options, "sd_alpha", 1.0), _number(options, "sd_log_beta", 1.0)),
            prior_correlation=_number(options, "correlation", 0.0),
            target_interval=(_number(options, "low", max(0.0, target - 0.1)),
                             _number(options, "high", min(0.99, target + 0.05))),
            ewoc=_number(options, "ewoc", 0.25), **rules)  # type: ignore[arg-type]
    common = {"skeleton": tuple(float(p) for p in skeleton), "target": target,
              "estimate": options.get("estimate", "posterior_mean"),
              "prior_variance": _number(options, "prior_variance", 1.34),
              "safety_cutoff": _number(options, "safety_cutoff", 0.9)}
    base = (LogisticCrmDesign(intercept=_number(options, "intercept", 3.0), **common)  # type: ignore[arg-type]
            if model == "logistic" else CrmDesign(**common))  # type: ignore[arg-type]
    if rules == {"coherence": False, "skip": 0, "max_step": None}:
        return base
    return CrmRulesDesign(base=base, **rules)  # type: ignore[arg-type]
