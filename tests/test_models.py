import numpy as np
import pytest

from kdhelpers.models import MODELS, build_model, dataset_of
from kdhelpers.paper import PARAMS as PAPER_PARAMS  # from ../shared/paper/experiment-spec.md


def test_every_model_is_covered():
    assert set(MODELS) == set(PAPER_PARAMS)


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_parameter_count_matches_paper(name):
    assert build_model(name).count_params() == PAPER_PARAMS[name]


@pytest.mark.parametrize("name", ["mnist_student", "cifar_student", "conv2"])
def test_models_return_logits(name):
    model = build_model(name)
    shape = (4, 28, 28, 1) if dataset_of(name) == "mnist" else (4, 32, 32, 3)
    out = np.asarray(model(np.random.default_rng(0).random(shape, dtype="float32")))
    assert out.shape == (4, 10)
    # logits, not probabilities: rows do not sum to one and values leave [0, 1]
    assert not np.allclose(out.sum(axis=1), 1.0)
    assert model.layers[-1].activation.__name__ == "linear"


def test_resnet_width_multiplier_shrinks_model():
    quarter = build_model("resnet18", width=0.25)
    assert quarter.count_params() < PAPER_PARAMS["resnet18"] / 10
    assert quarter.get_layer("stem_conv").filters == 16


def test_num_classes_changes_head():
    assert build_model("mnist_student", num_classes=3).output_shape == (None, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "resnet50"}, "model='resnet50'"),
    ({"name": "cifar_student", "width": 0.5}, "width=0.5"),
    ({"name": "resnet18", "width": 0}, "width=0"),
    ({"name": "mnist_student", "num_classes": 0}, "num_classes=0"),
])
def test_bad_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model(**kwargs)
