"""Training steps of the zoo's CNNs and generative models in dlcore and, for comparison, the
identical models written in PyTorch (same layers, same parameter names, weights copied from the
dlcore model), for ``dlcore bench train``. torch is imported only inside the torch builders."""
from __future__ import annotations

import math

import numpy as np


def _data(batch, seed=0, classes=10):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),
            rng.integers(0, classes, batch).astype(np.int64))


def _dl_model(name):
    import dlcore
    from dlcore import zoo

    dlcore.manual_seed(0)
    if name == "lenet":
        return zoo.LeNet5()
    if name == "resnet":
        return zoo.ResNet()
    if name == "dcgan":
        return zoo.GAN("dcgan")
    return zoo.DDPM().net


def dlcore_zoo_step(name, batch):
    """One training step of zoo model `name` (lenet, resnet, dcgan, ddpm, bert) at `batch`, in dlcore."""
    if name == "bert":  # BERT's step (batch 32 x 128 tokens) lives with its PyTorch twin in bench/bert.py
        from .bert import dlcore_step

        return dlcore_step()
    import dlcore
    from dlcore import optim
    from dlcore.nn import functional as F
    from dlcore.zoo import gan as G

    model = _dl_model(name)
    x, y = _data(batch)
    xt, yt = dlcore.from_numpy(x), dlcore.from_numpy(y)
    if name in ("lenet", "resnet"):
        opt = (optim.AdamW(model.parameters(), lr=1e-3) if name == "lenet" else
               optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4))

        def step():
            opt.zero_grad()
            F.cross_entropy(model(xt), yt).backward()
            opt.step()
    elif name == "dcgan":
        og = optim.Adam(model.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        od = optim.Adam(model.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        z = dlcore.from_numpy(np.random.default_rng(1).standard_normal((batch, 100)).astype(np.float32))
        real = dlcore.from_numpy(np.tanh(x))

        def step():
            fake = model.generate(z)
            ld = G.discriminator_loss(model.discriminate(real), model.discriminate(fake.detach()))
            od.zero_grad()
            ld.backward()
            od.step()
            lg = G.generator_loss(model.discriminate(fake))
            og.zero_grad()
            lg.backward()
            og.step()
    else:
        opt = optim.Adam(model.parameters(), lr=2e-4)
        t = np.random.default_rng(2).integers(1, 1001, batch)
        eps = dlcore.from_numpy(np.random.default_rng(3).standard_normal(x.shape).astype(np.float32))

        def step():
            opt.zero_grad()
            F.mse_loss(model(xt, t), eps).backward()
            opt.step()
    return step


def _torch_unet(tnn, torch, widths=(32, 64, 128), td=128):
    def gn(c):
        return tnn.GroupNorm(min(8, c), c)

    class DoubleConv(tnn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.conv1, self.norm1 = tnn.Conv2d(i, o, 3, padding=1, bias=False), gn(o)
            self.conv2, self.norm2 = tnn.Conv2d(o, o, 3, padding=1, bias=False), gn(o)
            self.time = tnn.Linear(td, o)
            self.skip = tnn.Conv2d(i, o, 1, bias=False) if i != o else None

        def forward(self, x, temb):
            h = self.norm1(self.conv1(x)) + self.time(temb)[:, :, None, None]
            out = torch.relu(self.norm2(self.conv2(torch.relu(h))))
            return out + (self.skip(x) if self.skip is not None else x)

    class UNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.time_mlp = tnn.Sequential(tnn.Linear(td, td), tnn.SiLU(), tnn.Linear(td, td))
            self.encoders, self.downs = tnn.ModuleList(), tnn.ModuleList()
            c = 1
            for i, w in enumerate(widths):
                self.encoders.append(DoubleConv(c, w))
                c = w
                if i < len(widths) - 1:
                    self.downs.append(tnn.MaxPool2d(2))
            self.ups, self.decoders = tnn.ModuleList(), tnn.ModuleList()
            for w in reversed(widths[:-1]):
                self.ups.append(tnn.ConvTranspose2d(c, w, 2, stride=2))
                self.decoders.append(DoubleConv(2 * w, w))
                c = w
            self.head = tnn.Conv2d(c, 1, 1)

        def forward(self, x, t):
            half = td // 2
            f = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / half)
            a = torch.as_tensor(t, dtype=torch.float64)[:, None] * f[None]
            temb = self.time_mlp(torch.cat([a.sin(), a.cos()], 1).float())
            skips, h = [], x
            for i, enc in enumerate(self.encoders):
                h = enc(h, temb)
                if i < len(self.downs):
                    skips.append(h)
                    h = self.downs[i](h)
            for up, dec in zip(self.ups, self.decoders):
                s = skips.pop()
                u = up(h)
                u = torch.nn.functional.pad(u, (0, s.shape[-1] - u.shape[-1], 0, s.shape[-2] - u.shape[-2]))
                h = dec(torch.cat([s, u], 1), temb)
            return self.head(h)
    return UNet()


def torch_zoo_model(name):
    """The PyTorch twin of ``_dl_model(name)`` with the dlcore model's weights."""
    import torch
    tnn = torch.nn

    if name == "lenet":
        class LeNet(tnn.Module):
            def __init__(self):
                super().__init__()
                self.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                                               tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
                self.classifier = tnn.Sequential(tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                                                 tnn.Linear(84, 10))

            def forward(self, x):
                return self.classifier(self.features(x).flatten(1))
        m = LeNet()
    elif name == "resnet":
        class Block(tnn.Module):
            def __init__(self, i, o, s):
                super().__init__()
                self.bn1, self.conv1 = tnn.BatchNorm2d(i), tnn.Conv2d(i, o, 3, s, 1, bias=False)
                self.bn2, self.conv2 = tnn.BatchNorm2d(o), tnn.Conv2d(o, o, 3, 1, 1, bias=False)
                self.shortcut = tnn.Conv2d(i, o, 1, s, bias=False) if s != 1 or i != o else None

            def forward(self, x):
                pre = torch.relu(self.bn1(x))
                out = self.conv2(torch.relu(self.bn2(self.conv1(pre))))
                return out + (self.shortcut(pre) if self.shortcut is not None else x)

        class ResNet(tnn.Module):
            def __init__(self):
                super().__init__()
                self.stem = tnn.Conv2d(1, 16, 3, padding=1, bias=False)
                layers, c = [], 16
                for i, w in enumerate((16, 32, 64)):
                    for j in range(3):
                        layers.append(Block(c, w, 2 if i and not j else 1))
                        c = w
                self.layers = tnn.Sequential(*layers)
                self.bn, self.pool, self.fc = tnn.BatchNorm2d(c), tnn.AdaptiveAvgPool2d(1), tnn.Linear(c, 10)

            def forward(self, x):
                return self.fc(self.pool(torch.relu(self.bn(self.layers(self.stem(x))))).flatten(1))
        m = ResNet()
    elif name == "dcgan":
        class G(tnn.Module):
            def __init__(self):
                super().__init__()
                self.project = tnn.Linear(100, 128 * 49, bias=False)
                self.bn0, self.up1 = tnn.BatchNorm2d(128), tnn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
                self.bn1, self.up2 = tnn.BatchNorm2d(64), tnn.ConvTranspose2d(64, 1, 4, 2, 1)

            def forward(self, z):
                h = torch.relu(self.bn0(self.project(z).reshape(-1, 128, 7, 7)))
                return torch.tanh(self.up2(torch.relu(self.bn1(self.up1(h)))))

        class D(tnn.Module):
            def __init__(self):
                super().__init__()
                self.conv1, self.conv2 = tnn.Conv2d(1, 64, 4, 2, 1), tnn.Conv2d(64, 128, 4, 2, 1, bias=False)
                self.bn2, self.fc = tnn.BatchNorm2d(128), tnn.Linear(128 * 49, 1)

            def forward(self, x):
                h = tnn.functional.leaky_relu(self.conv1(x), 0.2)
                return self.fc(tnn.functional.leaky_relu(self.bn2(self.conv2(h)), 0.2).flatten(1))

        class GAN(tnn.Module):
            def __init__(self):
                super().__init__()
                self.generator, self.discriminator = G(), D()
        m = GAN()
    else:
        m = _torch_unet(tnn, torch)
    src = _dl_model(name).state_dict()
    m.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in src.items()})
    return m


def torch_zoo_step(name, batch, threads):
    """The same step as dlcore_zoo_step in PyTorch, same weights and data."""
    if name == "bert":
        from .bert import torch_step

        return torch_step(threads)
    import torch
    F = torch.nn.functional

    torch.set_num_threads(threads)
    m = torch_zoo_model(name)
    x, y = _data(batch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if name in ("lenet", "resnet"):
        opt = (torch.optim.AdamW(m.parameters(), lr=1e-3) if name == "lenet" else
               torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4))

        def step():
            opt.zero_grad()
            F.cross_entropy(m(xt), yt).backward()
            opt.step()
    elif name == "dcgan":
        og = torch.optim.Adam(m.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        od = torch.optim.Adam(m.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        z = torch.from_numpy(np.random.default_rng(1).standard_normal((batch, 100)).astype(np.float32))
        real = torch.from_numpy(np.tanh(x))
        bce = F.binary_cross_entropy_with_logits

        def step():
            fake = m.generator(z)
            dr, df = m.discriminator(real), m.discriminator(fake.detach())
            ld = bce(dr, torch.ones_like(dr)) + bce(df, torch.zeros_like(df))
            od.zero_grad()
            ld.backward()
            od.step()
            dg = m.discriminator(fake)
            lg = bce(dg, torch.ones_like(dg))
            og.zero_grad()
            lg.backward()
            og.step()
    else:
        opt = torch.optim.Adam(m.parameters(), lr=2e-4)
        t = np.random.default_rng(2).integers(1, 1001, batch)
        eps = torch.from_numpy(np.random.default_rng(3).standard_normal(x.shape).astype(np.float32))

        def step():
            opt.zero_grad()
            F.mse_loss(m(xt, t), eps).backward()
            opt.step()
    return step
