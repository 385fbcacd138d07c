"""Transforms: each on a small image (shape, value range, the seed fixes the result), hand-checked
cases for the deterministic ones, and their errors."""

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.data import ArrayDataset, DataLoader, TensorDataset, image_ops
from autograd_cnn.data import transforms as T


def image(c=3, h=8, w=10, seed=0):
    return np.random.default_rng(seed).random((c, h, w), dtype=np.float32)


RANDOM_TRANSFORMS = [
    lambda g: T.RandomHorizontalFlip(0.5, generator=g),
    lambda g: T.RandomVerticalFlip(0.5, generator=g),
    lambda g: T.RandomCrop((6, 7), padding=2, generator=g),
    lambda g: T.RandomAffine(degrees=30, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=10,
                             generator=g),
    lambda g: T.RandomRotation(45, generator=g),
    lambda g: T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, generator=g),
    lambda g: T.RandomChannelShift(0.2, generator=g),
    lambda g: T.GaussianNoise(0.1, generator=g),
    lambda g: T.GaussianBlur(5, sigma=(0.5, 2.0), generator=g),
]
EXPECTED_SHAPES = [(3, 8, 10), (3, 8, 10), (3, 6, 7), (3, 8, 10), (3, 8, 10), (3, 8, 10),
                   (3, 8, 10), (3, 8, 10), (3, 8, 10)]


@pytest.mark.parametrize("make, shape", list(zip(RANDOM_TRANSFORMS, EXPECTED_SHAPES)))
def test_random_transform_shape_range_and_seed(make, shape):
    x = image()
    outs = []
    for seed in range(12):
        out = make(seed)(x)
        assert out.shape == shape and out.dtype == np.float32
        # every random transform here keeps [0, 1] images in [0, 1] (fill 0, clipping on)
        assert out.min() >= 0.0 and out.max() <= 1.0
        assert out is not x
        np.testing.assert_array_equal(make(seed)(x), out)          # the seed fixes the result
        outs.append(out)
    # other seeds give other results (flips have only two outcomes: some pair must differ)
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])
    np.testing.assert_array_equal(x, image())                       # the input is untouched


@pytest.mark.parametrize("make", RANDOM_TRANSFORMS)
def test_rng_argument_overrides_own_generator_and_successive_calls_differ(make):
    x = image()
    t = make(0)
    a = t(x, rng=np.random.default_rng(7))
    b = make(123)(x, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    # an int seed becomes one generator: successive calls draw new numbers
    seq = [t(x) for _ in range(10)]
    assert any(not np.array_equal(seq[0], s) for s in seq[1:])


def test_package_generator_is_used_without_a_generator():
    x = image()
    ac.manual_seed(3)
    a = T.RandomAffine(20)(x)
    ac.manual_seed(3)
    b = T.RandomAffine(20)(x)
    np.testing.assert_array_equal(a, b)


def test_horizontal_and_vertical_flip_by_hand():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), [[[2, 1, 0], [5, 4, 3]]])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x), [[[3, 4, 5], [0, 1, 2]]])
    # p = 0.5: about half the images are flipped
    t = T.RandomHorizontalFlip(0.5, generator=0)
    flipped = sum(np.array_equal(t(x), x[..., ::-1]) for _ in range(400))
    assert 150 < flipped < 250


def test_random_crop_with_padding_by_hand():
    x = np.array([[[1, 2], [3, 4]]], dtype=np.float32)
    padded = np.array([[[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]]], dtype=np.float32)
    # a crop as large as the padded image has one position: the padded image itself
    np.testing.assert_array_equal(T.RandomCrop(4, padding=1, generator=0)(x), padded)
    # a 2x2 crop is one of the 9 windows of the padded image, and all 9 occur
    t = T.RandomCrop(2, padding=1, generator=1)
    windows = {(i, j): padded[:, i:i + 2, j:j + 2] for i in range(3) for j in range(3)}
    seen = set()
    for _ in range(200):
        out = t(x)
        match = [k for k, w in windows.items() if np.array_equal(out, w)]
        assert match, out
        seen.update(match)
    assert len(seen) == 9
    # edge padding repeats the border instead of zeros
    np.testing.assert_array_equal(
        T.RandomCrop(4, padding=1, padding_mode="edge")(x),
        [[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]])


def test_random_crop_pad_if_needed_and_errors():
    x = image(1, 3, 3)
    # torchvision pads the missing 2 pixels on *both* sides (7x7), then crops at random
    seen = set()
    for seed in range(100):
        out = T.RandomCrop(5, pad_if_needed=True, generator=seed)(x)
        assert out.shape == (1, 5, 5)
        r, c = np.argwhere(out[0] == x[0, 0, 0])[0]
        np.testing.assert_array_equal(out[:, r:r + 3, c:c + 3], x)  # x is inside, zeros around
        assert out.sum() == pytest.approx(x.sum(), rel=1e-6)
        seen.add((r, c))
    assert seen == {(i, j) for i in range(3) for j in range(3)}
    with pytest.raises(ValueError, match="larger than the"):
        T.RandomCrop(5)(x)
    with pytest.raises(ValueError, match="non-negative"):
        T.RandomCrop(2, padding=-1)
    with pytest.raises(TypeError, match="pair of ints"):
        T.RandomCrop(2.5)


def test_resize_by_hand_constant_and_range():
    # 1x2 -> 1x4 with half-pixel centres: samples at x = -0.25, 0.25, 0.75, 1.25
    x = np.array([[[0.0, 1.0]]], dtype=np.float32)
    np.testing.assert_allclose(T.Resize((1, 4))(x), [[[0.0, 0.25, 0.75, 1.0]]])
    # shrinking 1x4 -> 1x2 with antialiasing: a tent of half-width 2 around x = 0.5 and 2.5,
    # weights (0.75, 0.75, 0.25, 0) and (0, 0.25, 0.75, 0.75), each divided by their sum 1.75
    x = np.array([[[0.0, 1.0, 2.0, 3.0]]], dtype=np.float32)
    np.testing.assert_allclose(T.Resize((1, 2))(x), [[[1.25 / 1.75, 4.0 / 1.75]]],
                               rtol=1e-6)
    # without antialiasing it is plain bilinear: the mean of each pair
    np.testing.assert_allclose(T.Resize((1, 2), antialias=False)(x), [[[0.5, 2.5]]])
    const = np.full((2, 5, 7), 0.3, dtype=np.float32)
    for size in [(3, 3), (11, 13), (5, 20), 1]:
        out = T.Resize(size)(const)
        np.testing.assert_allclose(out, 0.3, rtol=1e-6)
    out = T.Resize((17, 17))(image())
    assert out.shape == (3, 17, 17) and out.min() >= 0 and out.max() <= 1


def test_resize_matches_pillow_float_images():
    """Pillow's bilinear resample of 'F' (float) images uses the same tent filter, antialiased."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for (h, w), (ho, wo) in [((8, 8), (28, 28)), ((20, 30), (7, 9)), ((9, 5), (4, 12))]:
        x = rng.random((h, w), dtype=np.float32)
        ref = np.asarray(Image.fromarray(x, mode="F").resize((wo, ho), Image.BILINEAR))
        np.testing.assert_allclose(image_ops.resize(x[None], (ho, wo))[0], ref, atol=1e-5)


def test_normalize_and_subtract_mean_by_hand():
    x = np.stack([np.full((2, 2), v, np.float32) for v in (0.5, 1.0, 0.0)])
    out = T.Normalize([0.25, 0.5, 0.5], [0.5, 0.25, 2.0])(x)
    np.testing.assert_allclose(out[:, 0, 0], [0.5, 2.0, -0.25])
    assert out.dtype == np.float32
    # batchable: a batch (N, C, H, W) gives the per-image results
    batch = np.stack([x, 2 * x])
    nb = T.Normalize([0.25, 0.5, 0.5], [0.5, 0.25, 2.0])(batch)
    np.testing.assert_allclose(nb[0], out)
    imgs = np.array([[[[1.0, 2.0]]], [[[3.0, 6.0]]]], dtype=np.float32)   # (2, 1, 1, 2)
    ds = TensorDataset(imgs, np.array([0, 1]))
    sub = T.SubtractMean.from_dataset(ds)
    np.testing.assert_allclose(sub.mean, [[[2.0, 4.0]]])
    np.testing.assert_allclose(sub(imgs[0]), [[[-1.0, -2.0]]])
    pix = T.SubtractMean.from_dataset(ds, per_channel=True)
    np.testing.assert_allclose(pix.mean, [3.0])                           # (1+2+3+6)/4
    norm = T.Normalize.from_dataset(ds)
    np.testing.assert_allclose(norm.mean, [3.0])
    np.testing.assert_allclose(norm.std, [np.std([1, 2, 3, 6])])
    z = np.stack([norm(im) for im in imgs])
    np.testing.assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=1e-6)


def test_channel_stats_of_array_dataset_match_numpy():
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (50, 3, 4, 5), dtype=np.uint8)
    ds = ArrayDataset(imgs, np.zeros(50, np.int64))
    mean, std = T.channel_stats(ds, batch_size=7)
    f = imgs.astype(np.float64) / 255
    np.testing.assert_allclose(mean, f.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(std, f.std(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(T.mean_image(ds), f.mean(axis=0), rtol=1e-6)


def test_pad_and_center_crop_by_hand():
    x = np.array([[[1, 2], [3, 4]]], dtype=np.float32)
    np.testing.assert_array_equal(T.Pad((1, 0, 0, 1), fill=9)(x), [[[9, 1, 2], [9, 3, 4], [9, 9, 9]]])
    np.testing.assert_array_equal(T.Pad(1, padding_mode="reflect")(x)[0, 0], [4, 3, 4, 3])
    y = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    np.testing.assert_array_equal(T.CenterCrop(3)(y), y[:, 1:4, 1:4])
    # torchvision's offsets are round((H - h) / 2): (5 - 2) / 2 = 1.5 rounds to 2 (half to even)
    np.testing.assert_array_equal(T.CenterCrop((2, 4))(y), y[:, 2:4, 0:4])
    # a window larger than the image pads with zeros first (odd pixel right / bottom)
    np.testing.assert_array_equal(T.CenterCrop((2, 3))(np.ones((1, 1, 1), np.float32)),
                                  [[[0, 1, 0], [0, 0, 0]]])


def test_affine_identity_rotation_and_translation_by_hand():
    x = image(2, 5, 5)
    np.testing.assert_array_equal(T.RandomAffine(0, generator=0)(x), x)
    # 90 degrees counter-clockwise about the centre of a square image is np.rot90
    np.testing.assert_allclose(T.RandomAffine((90, 90))(x), np.rot90(x, 1, axes=(1, 2)), atol=1e-6)
    np.testing.assert_allclose(T.RandomRotation((-90, -90))(x), np.rot90(x, -1, axes=(1, 2)),
                               atol=1e-6)
    # a forward shift by one pixel to the right, fill 0 coming in on the left
    m = image_ops.affine_matrix(translate=(1.0, 0.0))
    shifted = image_ops.warp_affine(x, m, fill=0.0)
    np.testing.assert_allclose(shifted[:, :, 1:], x[:, :, :-1], atol=1e-7)
    np.testing.assert_array_equal(shifted[:, :, 0], 0)
    # half a pixel: bilinear average of neighbours
    half = image_ops.warp_affine(x, image_ops.affine_matrix(translate=(0.0, 0.5)), fill=0.0)
    np.testing.assert_allclose(half[:, 1:, :], (x[:, 1:, :] + x[:, :-1, :]) / 2, atol=1e-6)
    # scale 2 about the centre: the centre pixel stays, its neighbour at distance 2 comes from 1
    m = image_ops.affine_matrix(scale=2.0, center=(2.0, 2.0))
    zoom = image_ops.warp_affine(x, m)
    np.testing.assert_allclose(zoom[:, 2, 2], x[:, 2, 2], atol=1e-6)
    np.testing.assert_allclose(zoom[:, 2, 4], x[:, 2, 3], atol=1e-6)
    # shear in x by 45 degrees: row y moves by (y - centre) pixels
    m = image_ops.affine_matrix(shear=(45.0, 0.0), center=(2.0, 2.0))
    sheared = image_ops.warp_affine(x, m)
    np.testing.assert_allclose(sheared[:, 3, 1:], x[:, 3, :-1], atol=1e-6)
    np.testing.assert_allclose(sheared[:, 1, :-1], x[:, 1, 1:], atol=1e-6)


def test_affine_is_one_warp_and_fill():
    x = np.ones((1, 6, 6), np.float32)
    out = T.RandomAffine((45, 45), fill=0.5)(x)
    # corners come from outside the image; the centre from inside
    assert out[0, 0, 0] == pytest.approx(0.5) and out[0, 3, 3] == pytest.approx(1.0)
    # one combined matrix = the product of its parts
    c = (2.5, 2.5)
    m = image_ops.affine_matrix(30, (1, -2), 1.2, (10, 5), c)
    t = np.array([[1, 0, c[0] + 1], [0, 1, c[1] - 2], [0, 0, 1.0]])
    a = np.radians(30)
    r = np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0], [0, 0, 1]])
    sx, sy = np.tan(np.radians(10)), np.tan(np.radians(5))
    sh = np.array([[1, sx, 0], [0, 1, 0], [0, 0, 1]]) @ np.array([[1, 0, 0], [sy, 1, 0], [0, 0, 1]])
    s = np.diag([1.2, 1.2, 1.0])
    back = np.array([[1, 0, -c[0]], [0, 1, -c[1]], [0, 0, 1.0]])
    np.testing.assert_allclose(m, t @ r @ sh @ s @ back, atol=1e-12)


def test_color_jitter_by_hand():
    x = image()
    np.testing.assert_allclose(T.ColorJitter(brightness=(2, 2))(x), np.clip(2 * x, 0, 1))
    grey_mean = image_ops.to_grayscale(x).mean()
    np.testing.assert_allclose(T.ColorJitter(contrast=(0, 0))(x), np.full_like(x, grey_mean),
                               rtol=1e-6)
    g = image_ops.to_grayscale(x)
    np.testing.assert_allclose(T.ColorJitter(saturation=(0, 0))(x), np.broadcast_to(g, x.shape),
                               rtol=1e-6)
    # hue rotation leaves grey pixels grey and keeps luma
    grey = np.broadcast_to(g, x.shape).copy()
    np.testing.assert_allclose(T.ColorJitter(hue=(0.3, 0.3))(grey), grey, atol=1e-6)
    mid = 0.25 + 0.5 * x                             # away from the clip bounds
    shifted = T.ColorJitter(hue=(0.1, 0.1))(mid)
    np.testing.assert_allclose(image_ops.to_grayscale(shifted), image_ops.to_grayscale(mid),
                               atol=2e-3)
    assert not np.allclose(shifted, mid, atol=1e-3)
    np.testing.assert_allclose(T.ColorJitter()(x), x, rtol=1e-6)   # all factors 1: identity


def test_noise_blur_channel_shift_by_hand():
    x = np.full((1, 64, 64), 0.5, np.float32)
    np.testing.assert_array_equal(T.GaussianNoise(0.0)(x), x)
    noisy = T.GaussianNoise(0.1, clip=False, generator=0)(x)
    assert abs(noisy.std() - 0.1) < 0.005 and abs(noisy.mean() - 0.5) < 0.005
    # blur keeps a constant image and spreads a point into the normalised Gaussian kernel
    np.testing.assert_allclose(T.GaussianBlur(5, sigma=1.0)(x), x, rtol=1e-6)
    point = np.zeros((1, 7, 7), np.float32)
    point[0, 3, 3] = 1
    g = np.exp(-np.arange(-1, 2) ** 2 / (2 * 0.8 ** 2))
    g /= g.sum()
    np.testing.assert_allclose(T.GaussianBlur(3, sigma=0.8)(point)[0, 2:5, 2:5], np.outer(g, g),
                               rtol=1e-5)
    y = image()
    shifted = T.RandomChannelShift(0.1, clip=False, generator=0)(y)
    d = shifted - y
    for c in range(3):
        assert np.ptp(d[c]) < 1e-6 and abs(d[c, 0, 0]) <= 0.1


def test_to_array_and_compose():
    from PIL import Image
    hwc = np.arange(90, dtype=np.uint8).reshape(5, 6, 3)
    out = T.ToArray()(hwc)
    assert out.shape == (3, 5, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 1, 2], hwc[1, 2] / 255)
    pil = Image.fromarray(np.array([[0, 255], [51, 102]], np.uint8))
    np.testing.assert_allclose(T.ToArray()(pil), [[[0, 1], [0.2, 0.4]]], rtol=1e-6)
    np.testing.assert_allclose(T.ToArray()(np.array([[0, 65535]], np.uint16)), [[[0, 1]]])
    t = T.Compose([T.ToArray(), T.Pad(1), T.Normalize([0.5], [0.5])])
    np.testing.assert_allclose(t(pil)[0], [[-1, -1, -1, -1], [-1, -1, 1, -1],
                                           [-1, -0.6, -0.2, -1], [-1, -1, -1, -1]], rtol=1e-6)
    assert T.Compose([T.Pad(1), T.Normalize([0], [1])]).batchable
    assert not T.Compose([T.Pad(1), T.RandomHorizontalFlip()]).batchable
    assert T.Compose([T.RandomHorizontalFlip()]).random and not T.Compose([T.Pad(1)]).random
    # plain callables mix in; the rng is handed to the Transforms only
    c = T.Compose([lambda a: a * 2, T.RandomCrop(2)])
    r1 = c(image(1, 4, 4), rng=np.random.default_rng(0))
    r2 = c(image(1, 4, 4), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(r1, r2)
    assert "RandomCrop" in repr(c)


def test_transform_errors():
    with pytest.raises(ValueError, match=r"shape \(C, H, W\).*x\[None\]"):
        T.RandomHorizontalFlip()(np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="ToArray"):
        T.Normalize([0], [1])(np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(TypeError, match="numpy array"):
        T.Resize(4)([[0.0]])
    with pytest.raises(ValueError, match="4 channels|has 2 values"):
        T.Normalize([0, 0], [1, 1])(np.zeros((3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="positive"):
        T.Normalize([0], [0])
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="non-negative"):
        T.RandomAffine(-5)
    with pytest.raises(ValueError, match="fractions"):
        T.RandomAffine(0, translate=(2, 0))
    with pytest.raises(ValueError, match="positive"):
        T.RandomAffine(0, scale=(0, 1))
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="odd"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="mean image"):
        T.SubtractMean(np.zeros((1, 3, 3)))(np.zeros((1, 4, 4), np.float32))
    with pytest.raises(TypeError, match="not callable"):
        T.Compose([T.Pad(1), 3])
    with pytest.raises(ValueError, match="reflect padding"):
        T.Pad(3, padding_mode="reflect")(np.zeros((1, 2, 2), np.float32))


def test_transforms_in_a_dataloader_are_seeded_per_epoch():
    rng = np.random.default_rng(0)
    ds = TensorDataset(rng.random((20, 1, 6, 6), dtype=np.float32), np.arange(20))
    tf = T.Compose([T.RandomCrop(6, padding=2), T.RandomHorizontalFlip(), T.GaussianNoise(0.05)])

    def epoch_batches(loader, epoch):
        loader.set_epoch(epoch)
        return [x.numpy() for x, _ in loader]

    a = DataLoader(ds, batch_size=8, shuffle=True, seed=5, transform=tf)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=5, transform=tf)
    e0, e1 = epoch_batches(a, 0), epoch_batches(a, 1)
    assert not np.array_equal(e0[0], e1[0])
    # a second loader (a resumed run) that jumps straight to epoch 1 sees the same augmentation
    for p, q in zip(epoch_batches(b, 1), e1):
        np.testing.assert_array_equal(p, q)
    x, y = next(iter(DataLoader(ds, batch_size=4, transform=T.Pad(1))))
    assert x.shape == (4, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64


def reference_warp(x, matrix, fill):
    """Per-pixel inverse mapping with bilinear sampling, written the slow, obvious way."""
    inv = np.linalg.inv(matrix)
    c, h, w = x.shape
    out = np.empty_like(x)

    def pixel(ch, i, j):
        return x[ch, i, j] if 0 <= i < h and 0 <= j < w else fill

    for i in range(h):
        for j in range(w):
            sx, sy, _ = inv @ np.array([j, i, 1.0])
            j0, i0 = int(np.floor(sx)), int(np.floor(sy))
            fx, fy = sx - j0, sy - i0
            for ch in range(c):
                out[ch, i, j] = ((1 - fy) * ((1 - fx) * pixel(ch, i0, j0) + fx * pixel(ch, i0, j0 + 1))
                                 + fy * ((1 - fx) * pixel(ch, i0 + 1, j0) + fx * pixel(ch, i0 + 1, j0 + 1)))
    return out


def test_warp_affine_matches_per_pixel_reference():
    x = image(2, 5, 6, seed=3)
    for params in [dict(angle=37, translate=(0.7, -1.2), scale=0.8, shear=(12, -7)),
                   dict(angle=-150, scale=1.7), dict(translate=(9.0, 0.0))]:
        m = image_ops.affine_matrix(center=(2.5, 2.0), **params)
        np.testing.assert_allclose(image_ops.warp_affine(x, m, fill=0.25),
                                   reference_warp(x, m, 0.25), atol=1e-6)


# ---- torchvision's conversions: ToTensor, ToArray, ToPILImage ---------------------------------

def test_to_tensor_follows_torchvision():
    from PIL import Image
    rgb = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    out = T.ToTensor()(Image.fromarray(rgb))
    assert isinstance(out, ac.Tensor) and out.shape == (3, 5, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), rgb.transpose(2, 0, 1) / np.float32(255))
    np.testing.assert_array_equal(T.ToTensor()(rgb).numpy(), out.numpy())      # HWC uint8
    grey = T.ToTensor()(np.array([[0, 255], [51, 102]], np.uint8))             # (H, W)
    np.testing.assert_allclose(grey.numpy(), [[[0, 1], [0.2, 0.4]]], rtol=1e-6)
    # PIL modes as torchvision reads them: '1' -> 0/1, 'I' int32 and 'F' float32 unscaled
    bits = T.ToTensor()(Image.fromarray(np.array([[0, 255]], np.uint8)).convert("1"))
    np.testing.assert_array_equal(bits.numpy(), [[[0.0, 1.0]]])
    wide = T.ToTensor()(Image.fromarray(np.array([[0, 70000]], np.int32)))
    assert wide.dtype == np.int32 and wide.numpy().tolist() == [[[0, 70000]]]
    flt = T.ToTensor()(Image.fromarray(np.array([[0.5, 3.0]], np.float32)))
    assert flt.dtype == np.float32 and flt.numpy().tolist() == [[[0.5, 3.0]]]
    # a float (H, W, C) array is transposed but neither scaled nor cast, as in torchvision
    hwc = np.random.default_rng(0).random((5, 6, 3)) * 7
    f = T.ToTensor()(hwc)
    assert f.dtype == np.float64
    np.testing.assert_array_equal(f.numpy(), hwc.transpose(2, 0, 1))


def test_to_tensor_keeps_a_channels_first_sample_and_refuses_tensors():
    # issue 11: the project's own MNIST sample (1, 28, 28) float must not become (28, 1, 28)
    sample = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    out = T.ToTensor()(sample)
    assert out.shape == (1, 28, 28)
    np.testing.assert_array_equal(out.numpy(), sample)
    with pytest.raises(TypeError, match="ToTensor: pic should be a PIL image or a numpy array, "
                                        "got a Tensor"):
        T.ToTensor()(ac.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="2 or 3 dimensional.*got 4 dimensions"):
        T.ToTensor()(np.zeros((1, 1, 4, 4), np.uint8))
    with pytest.raises(TypeError, match="got list"):
        T.ToTensor()([[0]])


def test_to_array_refuses_what_it_cannot_read_unambiguously():
    chw = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(T.ToArray()(chw), chw)                 # not (28, 1, 28)
    hwc = np.random.default_rng(1).random((28, 28, 3), dtype=np.float32)
    np.testing.assert_array_equal(T.ToArray()(hwc), hwc.transpose(2, 0, 1))
    with pytest.raises(ValueError, match=r"cannot tell whether an array of shape \(3, 8, 3\) is "
                                         r"\(H, W, C\) or \(C, H, W\).*layout='HWC'"):
        T.ToArray()(np.zeros((3, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"shape \(8, 8, 8\)"):
        T.ToArray()(np.zeros((8, 8, 8), np.float32))
    ambiguous = np.arange(36, dtype=np.uint8).reshape(3, 4, 3)
    assert T.ToArray(layout="HWC")(ambiguous).shape == (3, 3, 4)
    np.testing.assert_allclose(T.ToArray(layout="CHW")(ambiguous), ambiguous / 255, rtol=1e-6)
    with pytest.raises(ValueError, match="layout must be"):
        T.ToArray(layout="NHWC")


def test_to_pil_image_round_trip_and_errors():
    from PIL import Image
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3) * 4
    img = Image.fromarray(rgb)
    back = T.ToPILImage()(T.ToTensor()(img))
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), rgb)
    assert T.ToPILImage()(ac.tensor([[[0.5, 1.0]]])).mode == "L"
    # a float Tensor is multiplied by 255 and truncated, as torchvision's mul(255).byte()
    assert np.asarray(T.ToPILImage()(ac.tensor([[[0.999, 0.5]]]))).tolist() == [[254, 127]]
    with pytest.raises(ValueError, match="more than 4 channels"):
        T.ToPILImage()(ac.zeros(5, 2, 2))
    with pytest.raises(TypeError, match="Tensor or numpy array"):
        T.ToPILImage()([0])


# ---- PIL images in, PIL images out (torchvision's Pillow calls) ------------------------------

def pil_rgb(h=6, w=9, seed=0):
    from PIL import Image
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8))


def test_resize_int_resizes_the_shorter_side():
    from PIL import Image
    img = pil_rgb(6, 9)
    out = T.Resize(4)(img)                          # h = 6 is shorter: (4, int(4 * 9 / 6) = 6)
    assert isinstance(out, Image.Image) and out.size == (6, 4)
    assert np.array_equal(np.asarray(out), np.asarray(img.resize((6, 4), Image.BILINEAR)))
    assert T.Resize(6)(img) is img                  # already that size: returned as it is
    assert T.Resize((3, 5))(img).size == (5, 3)     # (h, w) exactly
    assert T.Resize([4])(img).size == (6, 4)        # a one-element list is the shorter side
    tall = np.zeros((1, 10, 4), np.float32)
    assert T.Resize(2)(tall).shape == (1, 5, 2)     # w = 4 shorter: (int(2 * 10 / 4), 2)
    assert T.Resize(3)(np.zeros((2, 1, 7, 9), np.float32)).shape == (2, 1, 3, 3)  # a batch
    assert T.Resize(4, max_size=5)(np.zeros((1, 4, 8), np.float32)).shape == (1, 2, 5)
    t = T.Resize(2)(ac.zeros(1, 4, 6))              # a Tensor stays a Tensor
    assert isinstance(t, ac.Tensor) and t.shape == (1, 2, 3)
    assert T.Resize(3, interpolation=T.InterpolationMode.NEAREST)(img).size == (4, 3)
    with pytest.raises(ValueError, match="bilinearly only"):
        T.Resize(3, interpolation="nearest")(tall)
    with pytest.raises(ValueError, match="max_size = 4 must be strictly greater"):
        T.Resize(4, max_size=4)
    assert T.Resize((4, 4)).resizes and not T.Resize(4).resizes


def test_spatial_transforms_on_pil_images_match_pillow():
    from PIL import Image
    img = pil_rgb(6, 9)
    a = np.asarray(img)
    crop = T.CenterCrop(4)(img)
    assert isinstance(crop, Image.Image) and np.array_equal(np.asarray(crop), a[1:5, 2:6])
    padded = T.CenterCrop((8, 9))(img)                         # larger: zeros above and below
    assert padded.size == (9, 8) and np.asarray(padded)[0].max() == 0
    assert np.array_equal(np.asarray(padded)[1:7], a)
    flipped = T.RandomHorizontalFlip(1.0)(img)
    assert np.array_equal(np.asarray(flipped), a[:, ::-1])
    assert np.array_equal(np.asarray(T.RandomVerticalFlip(1.0)(img)), a[::-1])
    assert T.RandomHorizontalFlip(0.0)(img) is img
    pad = T.Pad((1, 2), fill=7)(img)
    assert pad.size == (11, 10) and np.asarray(pad)[0, 0].tolist() == [7, 7, 7]
    assert np.array_equal(np.asarray(T.Pad(2, padding_mode="reflect")(img)),
                          np.pad(a, ((2, 2), (2, 2), (0, 0)), mode="reflect"))
    rc = T.RandomCrop(4, padding=1, generator=0)(img)
    assert isinstance(rc, Image.Image) and rc.size == (4, 4)
    grey = T.Grayscale()(img)
    assert grey.mode == "L" and np.array_equal(np.asarray(grey), np.asarray(img.convert("L")))
    assert T.Grayscale(3)(img).mode == "RGB"
    # a transform without a Pillow path goes through floats and back to 8 bits
    jitter = T.ColorJitter(brightness=(1.0, 1.0), generator=0)(img)
    assert isinstance(jitter, Image.Image) and np.array_equal(np.asarray(jitter), a)
    with pytest.raises(TypeError, match=r"Normalize: .*got a PIL image; put ToTensor\(\) before"):
        T.Normalize([0.5] * 3, [0.5] * 3)(img)


def test_the_imagenet_pipeline_of_the_tutorials():
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    out = tf(pil_rgb(300, 400))
    assert isinstance(out, ac.Tensor) and out.shape == (3, 224, 224) and out.dtype == np.float32
    assert out.unsqueeze(0).shape == (1, 3, 224, 224)             # a batch of one, as scripts do
    train_tf = T.Compose([T.RandomResizedCrop(32), T.RandomHorizontalFlip(), T.ToTensor()])
    assert train_tf(pil_rgb(40, 50)).shape == (3, 32, 32)


def test_random_resized_crop_params_and_fallback():
    rng = np.random.default_rng(0)
    for _ in range(200):
        top, left, h, w = T.RandomResizedCrop.get_params(20, 30, (0.08, 1.0), (3 / 4, 4 / 3), rng)
        assert 0 <= top <= 20 - h and 0 <= left <= 30 - w and h > 0 and w > 0
    # scale 1 and ratio 1 on a 4x8 image: a 6x6 window never fits, so the fallback crops
    # the centre with the ratio clamped to 1: (top, left, h, w) = (0, 2, 4, 4)
    assert T.RandomResizedCrop.get_params(4, 8, (1.0, 1.0), (1.0, 1.0), rng) == (0, 2, 4, 4)
    x = image(3, 12, 16)
    t = T.RandomResizedCrop((5, 7), scale=(0.5, 1.0), generator=3)
    assert t(x).shape == (3, 5, 7)
    np.testing.assert_array_equal(T.RandomResizedCrop(6, generator=1)(x),
                                  T.RandomResizedCrop(6, generator=1)(x))
    full = T.RandomResizedCrop((12, 16), scale=(1.0, 1.0), ratio=(4 / 3, 4 / 3), generator=0)
    np.testing.assert_allclose(full(x), x, rtol=1e-6)            # the whole image, unresized
    with pytest.raises(ValueError, match=r"scale should be of kind \(min, max\)"):
        T.RandomResizedCrop(8, scale=(1.0, 0.5))


def test_grayscale_on_arrays_uses_torchvisions_weights():
    x = image(3, 2, 2)
    g = T.Grayscale()(x)
    np.testing.assert_allclose(g[0], 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2], rtol=1e-6)
    assert T.Grayscale(3)(x).shape == (3, 2, 2)
    np.testing.assert_array_equal(T.Grayscale()(x[:1]), x[:1])
    assert T.RandomGrayscale(1.0, generator=0)(x).shape == (3, 2, 2)
    with pytest.raises(ValueError, match="1 or 3 channels, got 2"):
        T.Grayscale()(image(2, 2, 2))
    with pytest.raises(ValueError, match="either 1 or 3"):
        T.Grayscale(2)


def test_lambda_and_tensors_through_compose():
    tf = T.Compose([T.Lambda(lambda t: t * 2), T.Pad(1)])
    out = tf(ac.ones(1, 2, 2))
    assert isinstance(out, ac.Tensor) and out.shape == (1, 4, 4) and float(out.sum()) == 8.0
    with pytest.raises(TypeError, match="Lambda: expected a callable"):
        T.Lambda(3)


def test_to_tensor_on_the_projects_mnist_samples_in_a_loader():
    # issue 11's silent bug: an MLP on ToArray/ToTensor output trained on transposed images
    images = np.random.default_rng(0).integers(0, 256, (10, 1, 28, 28), dtype=np.uint8)
    ds = ArrayDataset(images, np.arange(10) % 10)             # samples (1, 28, 28) float32
    for tf in (T.ToTensor(), T.ToArray(), T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])])):
        x, _ = next(iter(DataLoader(ds, batch_size=4, transform=tf, seed=0)))
        assert x.shape == (4, 1, 28, 28)
    x, _ = next(iter(DataLoader(ds, batch_size=2, transform=T.ToTensor(), seed=0)))
    np.testing.assert_allclose(x.numpy(), images[:2] / 255, rtol=1e-6)


def test_normalize_inplace_is_accepted_and_copies():
    x = np.ones((1, 2, 2), np.float32)
    out = T.Normalize([0.5], [0.5], inplace=True)(x)
    np.testing.assert_array_equal(out, 1.0)
    np.testing.assert_array_equal(x, 1.0)                     # a difference from torchvision


def test_random_apply_choice_order():
    x = image(1, 3, 3)
    flip = T.RandomHorizontalFlip(1.0)
    np.testing.assert_array_equal(T.RandomApply([flip], p=1.0, generator=0)(x), x[..., ::-1])
    assert T.RandomApply([flip], p=0.0, generator=0)(x) is x
    img = pil_rgb(4, 5)
    assert T.RandomApply([T.Grayscale(3)], p=1.0, generator=0)(img).mode == "RGB"   # PIL too
    outs = {T.RandomChoice([T.Pad(1), T.Pad(2)], generator=s)(x).shape for s in range(20)}
    assert outs == {(1, 5, 5), (1, 7, 7)}
    assert T.RandomChoice([T.Pad(1), T.Pad(2)], p=[0, 1], generator=0)(x).shape == (1, 7, 7)
    both = T.RandomOrder([T.Pad(1), T.CenterCrop(3)], generator=0)
    assert {both(x, rng=np.random.default_rng(s)).shape for s in range(20)} == {(1, 3, 3),
                                                                                (1, 5, 5)}
    with pytest.raises(ValueError, match="RandomChoice: p must be 2 non-negative weights"):
        T.RandomChoice([flip, flip], p=[1])
    with pytest.raises(TypeError, match="RandomApply: item 0 is not callable"):
        T.RandomApply([3])


def test_pil_to_tensor_and_convert_image_dtype():
    img = pil_rgb(2, 3)
    t = T.PILToTensor()(img)
    assert t.dtype == np.uint8 and t.shape == (3, 2, 3)
    np.testing.assert_array_equal(t.numpy(), np.asarray(img).transpose(2, 0, 1))
    f = T.ConvertImageDtype(np.float32)(t)
    np.testing.assert_allclose(f.numpy(), t.numpy() / 255, rtol=1e-6)
    # torchvision's values: float -> uint8 multiplies by 255.999, int16 -> uint8 shifts 8 bits
    back = T.ConvertImageDtype(np.uint8)(ac.tensor([[[0.0, 0.5, 1.0]]]))
    assert back.numpy().tolist() == [[[0, 127, 255]]]
    assert T.ConvertImageDtype(np.uint8)(np.array([32767, 256], np.int16)).tolist() == [255, 2]
    assert T.ConvertImageDtype(np.int16)(np.array([255], np.uint8)).tolist() == [255 * 128]
    with pytest.raises(TypeError, match="cannot be performed safely"):
        T.ConvertImageDtype(np.int32)(np.zeros(2, np.float32))
    with pytest.raises(TypeError, match="PILToTensor: pic should be a PIL image"):
        T.PILToTensor()(np.zeros((2, 2), np.uint8))


def test_random_erasing():
    x = np.ones((3, 20, 20), np.float32)
    out = T.RandomErasing(p=1.0, generator=0)(x)
    erased = out[0] == 0
    rows, cols = np.nonzero(erased)
    # one axis-aligned rectangle, the same in every channel, within the scale bounds
    assert erased.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert 0.02 * 400 * 0.5 <= erased.sum() <= 0.33 * 400 * 1.5
    assert all(np.array_equal(out[c] == 0, erased) for c in range(3))
    assert np.array_equal(x, np.ones_like(x))                    # the input is untouched
    coloured = T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3), generator=1)(x)
    assert set(np.unique(coloured[2])) == {np.float32(0.3), np.float32(1.0)}
    noisy = T.RandomErasing(p=1.0, value="random", generator=2)(x)
    assert (noisy != 1).sum() > 0
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(x), x)
    with pytest.raises(TypeError, match="RandomErasing: expected an array or Tensor"):
        T.RandomErasing()(pil_rgb())
    with pytest.raises(ValueError, match="value has 2 entries but the image has 3 channels"):
        T.RandomErasing(p=1.0, value=(0, 0), generator=0)(x)
