"""The PyTorch peer of the benchmark: the same students, trained the same way, on the CPU.

Optional: without ``torch`` installed the case is skipped with a message. The layers mirror
``kdhelpers.models`` (same shapes and parameter counts; default initialisers differ, which
does not change the speed).
"""

from __future__ import annotations


def _mnist_student(nn):
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(13 * 13 * 32, 128), nn.ReLU(), nn.Linear(128, 10))


def _cifar_student(nn):
    layers, channels = [], 3
    for filters, drop in ((32, 0.2), (64, 0.3), (128, 0.4)):
        for _ in range(2):  # conv -> ReLU -> BN, as in the Keras model
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(filters)]
            channels = filters
        layers += [nn.MaxPool2d(2), nn.Dropout(drop)]
    layers += [nn.Flatten(), nn.Linear(4 * 4 * 128, 256), nn.ReLU(), nn.BatchNorm1d(256),
               nn.Dropout(0.4), nn.Linear(256, 10)]
    return nn.Sequential(*layers)


def student_training_case(dataset: str, images: int, batch: int):
    """``(callable training one epoch over images, None)`` or ``(None, why skipped)``."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed (pip install torch==2.13.0)"
    from torch import nn

    torch.manual_seed(0)
    model = {"mnist": _mnist_student, "cifar10": _cifar_student}[dataset](nn)
    shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
    x = torch.rand(images, *shape)
    y = torch.randint(0, 10, (images,))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        model.train()
        order = torch.randperm(images)
        for start in range(0, images, batch):
            idx = order[start:start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            optimizer.step()

    return epoch, None
