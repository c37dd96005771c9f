import numpy as np
import torch

from models import MODELS
from models.train import encode, fit_encoder, plateaued, train


def test_baseline_matches_the_seed_table():
    model = MODELS.create("baseline")
    convs = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    deconvs = [m for m in model.decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding) for c in convs] == [
        (3, 8, (3, 3), (2, 2), (1, 1)), (8, 16, (3, 3), (2, 2), (1, 1))]
    assert [(d.in_channels, d.out_channels, d.kernel_size, d.stride) for d in deconvs] == [
        (16, 8, (2, 2), (2, 2)), (8, 3, (2, 2), (2, 2))]
    assert isinstance(model.decoder[-1], torch.nn.Tanh)
    assert (model.loss, model.epochs, model.lr, model.batch_size) == ("l1", 20, 1e-3, 32)
    latent = model.encode(torch.zeros(2, 3, 32, 32))
    reconstruction = model.decode(latent)
    assert latent.shape == (2, 16, 8, 8) and reconstruction.shape == (2, 3, 32, 32)


def test_baseline_adapts_to_grayscale():
    model = MODELS.create("baseline", in_channels=1)
    latent = model.encode(torch.zeros(4, 1, 8, 8))
    reconstruction = model.decode(latent)
    assert latent.shape == (4, 16, 2, 2) and reconstruction.shape == (4, 1, 8, 8)


def test_training_lowers_the_loss_and_is_seeded():
    x = torch.rand(256, 3, 16, 16) * 2 - 1
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        model = MODELS.create("baseline", epochs=5)
        histories.append(train(model, x, seed=0))
    assert len(histories[0]) == 5 and histories[0][-1] < histories[0][0]
    assert histories[0] == histories[1]


def test_pixels_returns_the_images_flattened():
    images = np.random.default_rng(0).uniform(-1, 1, (10, 3, 4, 4)).astype(np.float32)
    latent, history = fit_encoder(MODELS.create("pixels"), images, seed=0, device=torch.device("cpu"))
    assert history == [] and np.array_equal(latent, images.reshape(10, -1))


def test_the_cpu_layout_changes_nothing_but_rounding():
    # fit_encoder runs convolutions channels-last on the CPU (faster): the same features in the
    # same order as the default layout, and the same training, up to rounding (which Adam's
    # steps then amplify, so the trained weights are compared through their losses)
    images = np.random.default_rng(0).uniform(-1, 1, (64, 3, 16, 16)).astype(np.float32)
    for name, params in (("conv", {"epochs": 0}), ("handcrafted", {}), ("effnet", {}), ("conv", {"epochs": 2})):
        torch.manual_seed(0)
        fast, history = fit_encoder(MODELS.create(name, **params), images, seed=0, device=torch.device("cpu"))
        torch.manual_seed(0)
        model, x = MODELS.create(name, **params), torch.from_numpy(images)
        assert np.allclose(history, train(model, x, seed=0), rtol=1e-4), name
        if not history:
            assert np.allclose(fast, encode(model, x), rtol=1e-4, atol=1e-5), name


def test_encode_keeps_input_order_across_batches():
    model = MODELS.create("pixels")
    model.encode_batch_size = 7
    x = torch.arange(50, dtype=torch.float32).reshape(50, 1, 1, 1)
    assert encode(model, x).ravel().tolist() == list(range(50))


def test_plateau_rule():
    assert not plateaued([1.0, 0.9, 0.8, 0.7], plateau=0.05)  # still falling by > 5 %
    assert plateaued([1.0, 0.9, 0.89, 0.88], plateau=0.05)  # two epochs in a row < 5 %
    assert not plateaued([1.0, 0.9, 0.89, 0.8], plateau=0.05)  # the last one gained again
    assert plateaued([1.0, 0.8, 0.85, 0.81], plateau=0.05)  # worse than the best counts as no gain
    assert not plateaued([1.0, 1.0, 1.0, 1.0], plateau=0.0)  # 0: never stops early


def test_plateau_stop_ends_training_early_at_the_same_epoch_every_time():
    x = torch.rand(256, 3, 16, 16) * 2 - 1
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = MODELS.create("baseline", epochs=30, plateau=0.05)
        calls = []
        history = train(model, x, seed=0, on_epoch=lambda *a: calls.append(a))
        runs.append((history, encode(model, x)))
    history, latent = runs[0]
    assert 2 < len(history) < 30 and plateaued(history, 0.05)
    assert not any(plateaued(history[:n], 0.05) for n in range(1, len(history)))  # the first plateau
    assert [last for _, _, last in calls] == [False] * (len(history) - 1) + [True]
    assert runs[1][0] == history and np.array_equal(runs[1][1], latent)  # seeded: same stop, same weights


def test_min_steps_adds_epochs_where_the_data_is_small():
    from models import planned_epochs
    from models.base import epochs_for
    assert epochs_for(2000, 8, 256, min_steps=240) == 30  # 8 batches an epoch
    assert epochs_for(9000, 8, 256, min_steps=240) == 8  # 36 batches an epoch: 288 already
    assert epochs_for(100, 0, 256, min_steps=240) == 0  # nothing to train stays so
    x = torch.rand(40, 3, 8, 8) * 2 - 1
    torch.manual_seed(0)
    model = MODELS.create("simclr", epochs=2, batch_size=16, min_steps=12)  # 3 batches an epoch
    calls = []
    history = train(model, x, seed=0, on_epoch=lambda *a: calls.append(a))
    # the progress bar's total is the epochs trained, and the last epoch says so
    assert len(history) == 4 == planned_epochs("simclr", {"epochs": 2, "batch_size": 16, "min_steps": 12}, 40)
    assert [last for _, _, last in calls] == [False, False, False, True]
    assert planned_epochs("simclr", {}, 2000) == 30 and planned_epochs("simclr", {}) == 8


def test_cosine_schedule_warms_up_then_decays_to_zero(monkeypatch):
    from models.train import learning_rate_factor
    assert [learning_rate_factor("constant", 100)(s) for s in (0, 50, 99)] == [1.0, 1.0, 1.0]
    factor = [learning_rate_factor("cosine", 100)(s) for s in range(100)]
    peak = int(np.argmax(factor))
    assert factor[0] == 0.1 and peak == 9 and 0.97 < factor[peak] <= 1  # a tenth to warm up
    assert all(a > b for a, b in zip(factor[peak:], factor[peak + 1:])) and factor[-1] < 1e-3
    # the optimizer follows it: the last of a cosine training's batches steps with a tiny rate
    rates, step = [], torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)
    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    torch.manual_seed(0)
    train(MODELS.create("simclr", epochs=5, batch_size=16, min_steps=0, lr=0.01), torch.rand(32, 3, 8, 8) * 2 - 1, seed=0)
    assert len(rates) == 10 and rates[0] == max(rates) == 0.01 and rates[-1] < 0.01 * 0.03
