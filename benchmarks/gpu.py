"""``python -m benchmarks.gpu``: epoch time on a CUDA GPU, against NumPy and native PyTorch.

Two cases, float32, ReLU, batch 128, plain SGD: 60000×784 → 256 → 10 (MNIST's shape) and a
wide 60000×784 → 4096 → 10. Contenders, interleaved in one run (:func:`timing.interleaved`):

* ``chainrule Trainer (device="torch:cuda")`` — the data moved once, one host wait per epoch;
* ``chainrule Trainer (NumPy CPU)`` — the default path on this machine's CPU;
* ``torch.nn + torch.optim (CUDA)`` — the same network, autograd and ``torch.optim.SGD`` on the
  same GPU, with the data already on it and the loss read once per epoch.

Where no CUDA device exists it prints so and exits 0: nothing is measured.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .timing import Setup, interleaved

ROWS, FEATURES, CLASSES, BATCH = 60000, 784, 10, 128


def _data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(0)
    return gen.standard_normal((rows, FEATURES), dtype=np.float32), gen.integers(0, CLASSES, rows)


def chainrule_epoch(width: int, rows: int, device: str | None) -> Setup:
    import chainrule as cr

    def setup() -> Any:
        X, y = _data(rows)
        net = cr.Sequential(
            [cr.Dense(FEATURES, width, rng=0), cr.ReLU(), cr.Dense(width, CLASSES, rng=1)]
        )
        trainer = cr.Trainer(net, "cross_entropy", cr.sgd(0.01), device=device)
        trainer.fit(X, y, epochs=1, batch_size=BATCH, rng=0)  # warm-up: data and kernels

        def run() -> None:
            trainer.fit(X, y, epochs=1, batch_size=BATCH, rng=0)
            if device is not None:
                import torch

                torch.cuda.synchronize()

        return run

    return setup


def torch_epoch(width: int, rows: int) -> Setup:
    import torch

    def setup() -> Any:
        X, y = _data(rows)
        Xt, yt = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
        model = torch.nn.Sequential(
            torch.nn.Linear(FEATURES, width), torch.nn.ReLU(), torch.nn.Linear(width, CLASSES)
        ).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        gen = torch.Generator(device="cuda").manual_seed(0)

        def run() -> None:
            order = torch.randperm(rows, generator=gen, device="cuda")
            total = torch.zeros((), device="cuda")
            for start in range(0, rows, BATCH):
                idx = order[start : start + BATCH]
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                total += loss.detach()
            float(total)  # the one host wait per epoch, as chainrule's

        run()  # warm-up
        return run

    return setup


def main(quick: bool = False) -> int:
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install 'chainrule[torch]'); nothing measured.")
        return 0
    if not torch.cuda.is_available():
        print("No CUDA device: the GPU benchmark needs one; nothing measured.")
        return 0
    rows, repeats = (4096, 1) if quick else (ROWS, 5)
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}; median s/epoch")
    print(f"{'case':>8} {'chainrule GPU':>14} {'NumPy CPU':>10} {'torch.nn GPU':>13}  GPU/torch")
    for width in (256, 4096):
        medians = interleaved(
            {
                "gpu": chainrule_epoch(width, rows, "torch:cuda"),
                "cpu": chainrule_epoch(width, rows, None),
                "torch": torch_epoch(width, rows),
            },
            repeats,
        )
        print(
            f"{width:>8} {medians['gpu']:>14.3f} {medians['cpu']:>10.3f} "
            f"{medians['torch']:>13.3f}  {medians['gpu'] / medians['torch']:.2f}×"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv))
