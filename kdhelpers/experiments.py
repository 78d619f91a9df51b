"""The runs behind each chapter, as :class:`RunConfig` objects built from profile settings.

Every KD run and the no-KD run it is compared with share optimiser, batch, schedule, epochs
and data: only ``teacher``/``alpha``/``temperature`` differ (the paper's baselines did not).
"""

from __future__ import annotations

from .config import RunConfig
from .report import plateau_epoch


def cifar_teacher(s: dict) -> RunConfig:
    """The CIFAR-10 teacher (experiments 2 and 3): trained on every non-validation image."""
    return RunConfig(seed=0, fraction=1.0, **s["teacher"], **s["common"])


def cifar_student(s: dict, seed: int, teacher: RunConfig | None = None, alpha: float = 0.0,
                  temperature: float = 1.0, **changes) -> RunConfig:
    """A 6-conv CIFAR student under the profile's one student protocol."""
    fields = {**s["student"], **s["common"], **changes}
    return RunConfig("cifar_student", seed=seed, teacher=teacher.run_id if teacher else None,
                     alpha=alpha if teacher else 0.0,
                     temperature=temperature if teacher else 1.0, **fields)


def exp1(s: dict) -> dict:
    """MNIST: teacher once; scratch and KD students over the seeds (the paper: 20 repeats)."""
    common = dict(batch_size=s["batch_size"], **s["common"])
    teacher = RunConfig("mnist_teacher", epochs=s["teacher_epochs"], seed=0, **common)
    scratch = [RunConfig("mnist_student", epochs=s["student_epochs"], seed=k, **common)
               for k in s["seeds"]]
    kd = [c.replace(teacher=teacher.run_id, alpha=s["alpha"], temperature=s["temperature"])
          for c in scratch]
    return {"teacher": teacher, "scratch": scratch, "kd": kd}


def exp2(s: dict) -> dict:
    """α×T grid at the selection seed and the no-KD baseline over the evaluation seeds.

    Where the profile asks for one (``probe_epochs``), also the no-KD student's *probe*:
    ``probe_epochs`` epochs at the selection seed with the learning rate never dropped, the
    learning curve against which the student protocol's epochs can be judged (it decides
    nothing: no evaluation seed, no KD run depends on it).
    """
    teacher = cifar_teacher(s)
    runs = {
        "teacher": teacher,
        "baseline": [cifar_student(s, k) for k in s["seeds"]],
        "grid": {(a, t): cifar_student(s, s["selection_seed"], teacher, a, t)
                 for a in s["alphas"] for t in s["temperatures"]},
    }
    if s["probe_epochs"]:
        runs["probe"] = cifar_student(s, s["selection_seed"], epochs=s["probe_epochs"],
                                      schedule="none")
    return runs


def seeded(config: RunConfig, seeds) -> list[RunConfig]:
    """``config`` repeated over ``seeds`` (for the headline comparison of a grid's best cell)."""
    return [config.replace(seed=k) for k in seeds]


def exp3(s: dict) -> dict:
    """KD versus no KD for each training fraction (first N images), seeded."""
    teacher = cifar_teacher(s)
    return {
        "teacher": teacher,
        "no_kd": {f: [cifar_student(s, k, fraction=f) for k in s["seeds"]] for f in s["fractions"]},
        "kd": {f: [cifar_student(s, k, teacher, s["alpha"], s["temperature"], fraction=f)
                   for k in s["seeds"]] for f in s["fractions"]},
    }


def exp4(s: dict) -> dict:
    """Teacher-free KD: a pre-trained student (same protocol) teaches a fresh student.

    All runs, the self-teacher and the baselines included, use the step schedule.
    """
    schedule = dict(schedule="step", lr_drop_every=s["lr_drop_every"])
    self_teacher = cifar_student(s, 100, **schedule)  # a seed no student below uses
    return {
        "teacher": self_teacher,
        "baseline": [cifar_student(s, k, **schedule) for k in s["seeds"]],
        "grid": {(a, t): cifar_student(s, s["selection_seed"], self_teacher, a, t, **schedule)
                 for a in s["alphas"] for t in s["temperatures"]},
    }


def exp5(s: dict) -> dict:
    """A student distilled from a pre-trained student becomes the teacher of a new grid."""
    pretrained = cifar_student(s, 100)
    middle = cifar_student(s, 101, pretrained, s["middle_alpha"], s["middle_temperature"])
    return {
        "pretrained": pretrained,
        "teacher": middle,
        "baseline": [cifar_student(s, k) for k in s["seeds"]],
        "grid": {(a, t): cifar_student(s, s["selection_seed"], middle, a, t)
                 for a in s["alphas"] for t in s["temperatures"]},
    }


# Each size's LR drop, when its epochs come from a probe: after the same share of its epochs
# as the CIFAR student's (15 of 20).
DROP_SHARE = 0.75


def _conv_fields(s: dict, epochs: int, schedule: str, lr_drop_every: int) -> dict:
    return dict(epochs=epochs, fraction=s["fraction"], batch_size=s["batch_size"],
                optimizer=s["optimizer"], learning_rate=s["learning_rate"],
                schedule=schedule, lr_drop_every=lr_drop_every, **s["common"])


def exp6_probes(s: dict) -> dict:
    """Chapter 6's probes, one per size: ``probe_epochs`` epochs from scratch at the selection
    seed, the learning rate never dropped. Each probe's validation curve picks that size's
    epochs (:func:`kdhelpers.report.plateau_epoch`). ``{}`` when the profile fixes the epochs."""
    if not s["probe_epochs"]:
        return {}
    return {n: RunConfig(f"conv{n}", seed=s["selection_seed"],
                         **_conv_fields(s, s["probe_epochs"], "none", s["lr_drop_every"]))
            for n in s["sizes"]}


def exp6_epochs(probe_runs: dict) -> dict:
    """``{size: epochs}`` picked on the finished probes (``{size: Run}``) of
    :func:`exp6_probes`: where each validation curve reaches its plateau."""
    return {n: plateau_epoch([row["val_accuracy"] for row in run.history])
            for n, run in probe_runs.items()}


def exp6(s: dict, epochs_by_size: dict | None = None) -> dict:
    """Teacher assistants with the 2..10-conv family, one protocol for every run.

    ``epochs_by_size`` (``{size: epochs}``, picked on the probes of :func:`exp6_probes`) is
    required when the profile probes (``probe_epochs``); each size then trains its own
    epochs, with the LR ×0.1 after :data:`DROP_SHARE` of them when the schedule is ``step``.
    Otherwise every size trains the profile's ``epochs``.
    """
    if s["probe_epochs"]:
        missing = sorted(set(s["sizes"]) - set(epochs_by_size or {}))
        if missing:
            raise ValueError(f"exp6 at profile {s['profile']!r} picks each size's epochs on its "
                             f"probe: epochs_by_size lacks sizes {missing} (got "
                             f"{epochs_by_size!r}); see experiments.exp6_probes")
        fields = {n: _conv_fields(s, epochs_by_size[n], s["schedule"],
                                  max(1, round(DROP_SHARE * epochs_by_size[n])))
                  for n in s["sizes"]}
    else:
        fields = {n: _conv_fields(s, s["epochs"], s["schedule"], s["lr_drop_every"])
                  for n in s["sizes"]}
    kd = dict(alpha=s["alpha"], temperature=s["temperature"])

    def plain(n, seed):
        return RunConfig(f"conv{n}", seed=seed, **fields[n])

    def taught(n, seed, teacher):
        return plain(n, seed).replace(teacher=teacher.run_id, **kd)

    seeds = s["seeds"]
    largest = max(s["sizes"])
    smallest = min(s["sizes"])
    teachers = {n: plain(n, seeds[0]) for n in s["sizes"]}
    middle = [n for n in s["sizes"] if smallest < n < largest]
    return {
        "scratch": {n: [plain(n, k) for k in seeds] for n in s["sizes"]},
        # one scratch run of each size (the first evaluation seed) serves as that size's teacher
        "teacher_to_smallest": {n: [taught(smallest, k, teachers[n]) for k in seeds]
                                for n in s["sizes"] if n > smallest},
        "largest_to_student": {n: taught(n, 0, teachers[largest])
                               for n in s["sizes"] if n < largest},
        # chain largest -> TA -> smallest, the whole chain replicated per seed
        "chains": {ta: [taught(smallest, k, taught(ta, k, teachers[largest])) for k in seeds]
                   for ta in middle},
        "assistants": {ta: [taught(ta, k, teachers[largest]) for k in seeds] for ta in middle},
    }


def exp7(s: dict) -> dict:
    """Beyond logits, step 1: the teacher and the seed-0 runs that pick each feature-loss
    weight on validation (attention transfer alone, FitNets hint alone)."""
    teacher = cifar_teacher(s)
    first = cifar_student(s, s["selection_seed"], teacher, s["alpha"], s["temperature"])
    return {
        "teacher": teacher,
        "tuning": {
            "attention transfer": {w: _attention_transfer(first, w) for w in s["at_weights"]},
            "FitNets hint": {w: _hint(first, w) for w in s["hint_weights"]},
        },
    }


def exp7_methods(s: dict, at_weight: float, hint_weight: float) -> dict:
    """Beyond logits, step 2: every method over the same seeds and protocol, with the picked
    weights (logit KD + attention transfer reuses the weight picked for attention transfer)."""
    teacher = cifar_teacher(s)
    kd = dict(alpha=s["alpha"], temperature=s["temperature"])
    plain = [cifar_student(s, k) for k in s["seeds"]]
    logit_kd = [cifar_student(s, k, teacher, **kd) for k in s["seeds"]]
    return {
        "no KD": plain,
        "logit KD": logit_kd,
        "FitNets hint": [_hint(c, hint_weight) for c in logit_kd],
        "attention transfer": [_attention_transfer(c, at_weight) for c in logit_kd],
        "logit KD + attention transfer": [c.replace(feature="at", feature_weight=at_weight)
                                          for c in logit_kd],
        "virtual teacher (Tf-KD)": [c.replace(virtual_teacher=s["correct_prob"], **kd)
                                    for c in plain],
    }


def _attention_transfer(kd_config: RunConfig, weight: float) -> RunConfig:
    """Attention transfer alone: the teacher's feature maps, no logit term."""
    return kd_config.replace(alpha=0.0, temperature=1.0, feature="at", feature_weight=weight)


def _hint(kd_config: RunConfig, weight: float) -> RunConfig:
    """FitNets hint alone (trained jointly with the label loss), no logit term."""
    return kd_config.replace(alpha=0.0, temperature=1.0, feature="hint", feature_weight=weight)
