"""ImageFolder on folders of PNG/JPEG files generated here: valid and broken ones."""

import numpy as np
import pytest
from PIL import Image

from autograd_cnn.data import DataLoader, ImageFolder
from autograd_cnn.data import transforms as T


def save(path, arr, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt)
    return path


def grey_folder(root, sizes=((6, 5),) * 3):
    rng = np.random.default_rng(0)
    ref = {}
    for cls in ("cat", "dog"):
        for i, (h, w) in enumerate(sizes):
            arr = rng.integers(0, 256, (h, w), dtype=np.uint8)
            ref[(cls, i)] = arr
            save(root / cls / f"{i:02d}.png", arr)
    return ref


def test_valid_grey_folder(tmp_path):
    ref = grey_folder(tmp_path)
    (tmp_path / "cat" / "notes.txt").write_text("not an image, ignored")
    (tmp_path / "dog" / ".hidden.png").write_text("hidden, ignored")
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 6 and list(ds.targets) == [0, 0, 0, 1, 1, 1] and ds.mode == "L"
    x, y = ds[4]
    assert x.shape == (1, 6, 5) and x.dtype == np.float32 and y == 1
    np.testing.assert_allclose(x[0], ref[("dog", 1)] / 255.0, rtol=1e-6)
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    assert xb.shape == (4, 1, 6, 5)
    mem = ds.to_array_dataset()
    np.testing.assert_allclose(mem.images, np.stack([ds[i][0] for i in range(6)]))
    assert hasattr(mem, "get_batch")


def test_rgb_jpeg_and_mode_inference(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    save(tmp_path / "a" / "x.png", rgb)
    flat = np.broadcast_to(np.array([200, 100, 50], np.uint8), (4, 4, 3)).copy()
    save(tmp_path / "a" / "y.jpg", flat, fmt="JPEG")
    rgba = np.concatenate([rgb, np.full((4, 4, 1), 7, np.uint8)], axis=2)
    save(tmp_path / "b" / "z.png", rgba)
    save(tmp_path / "b" / "g.png", rgb[:, :, 0])                  # grey among colour: RGB
    ds = ImageFolder(tmp_path)
    assert ds.mode == "RGB"
    x, _ = ds[0]
    assert x.shape == (3, 4, 4)
    np.testing.assert_allclose(x, rgb.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    jpg, _ = ds[1]
    np.testing.assert_allclose(jpg[:, 0, 0], [200 / 255, 100 / 255, 50 / 255], atol=0.02)  # lossy
    np.testing.assert_allclose(ds[3][0], x, rtol=1e-6)             # alpha dropped
    g = ds[2][0]                                                   # grey -> three equal planes
    np.testing.assert_allclose(g[0], g[2])
    grey = ImageFolder(tmp_path, mode="L")
    assert grey[0][0].shape == (1, 4, 4)


def test_sixteen_bit_grey(tmp_path):
    arr = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    save(tmp_path / "c" / "deep.png", arr)
    x, _ = ImageFolder(tmp_path)[0]
    np.testing.assert_allclose(x[0], arr / 65535.0, rtol=1e-6)


def test_mixed_sizes_need_a_resize(tmp_path):
    grey_folder(tmp_path, sizes=((6, 5), (8, 8)))
    with pytest.raises(ValueError, match=r"different sizes.*is 6x5.*is 8x8.*size="):
        ImageFolder(tmp_path)
    ds = ImageFolder(tmp_path, size=7)
    assert {ds[i][0].shape for i in range(len(ds))} == {(1, 7, 7)}
    with_tf = ImageFolder(tmp_path, transform=T.Compose([T.Resize((4, 3)), T.Normalize([0], [1])]))
    assert with_tf[1][0].shape == (1, 4, 3)

def test_to_array_dataset_keeps_the_folders_transform(tmp_path):
    grey_folder(tmp_path, sizes=((6, 5), (8, 8), (3, 9)))
    # mixed sizes: the Resize runs once at decode time, so the images stack
    mem = ImageFolder(tmp_path, transform=T.Resize((4, 4))).to_array_dataset()
    assert mem.images.shape == (6, 1, 4, 4) and mem.transform is None
    ds = ImageFolder(tmp_path, transform=T.Compose([T.Resize((4, 3)), T.Normalize([0.5], [0.25]),
                                                    T.RandomHorizontalFlip(1.0)]))
    mem = ds.to_array_dataset(transform=T.Pad(1))
    assert mem.images.shape == (6, 1, 4, 3)                        # resized and normalised once
    assert isinstance(mem.transform, T.Compose)                     # flip, then Pad, per read
    for i in range(len(ds)):
        np.testing.assert_allclose(mem[i][0], T.Pad(1)(ds[i][0]), rtol=1e-6)
        assert mem[i][1] == ds[i][1]
    # a random step before the Resize cannot be decoded once: still a clear error
    flip_first = ImageFolder(tmp_path, transform=T.Compose([T.RandomHorizontalFlip(),
                                                            T.Resize((4, 4))]))
    with pytest.raises(ValueError, match="different shapes.*size=.*Resize before"):
        flip_first.to_array_dataset()


# ---- broken folders -------------------------------------------------------------------------------

def test_empty_class_folder(tmp_path):
    grey_folder(tmp_path)
    (tmp_path / "emu").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*emu has no images"):
        ImageFolder(tmp_path)


def test_no_class_folders_and_missing_root(tmp_path):
    save(tmp_path / "loose.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="no class subfolders"):
        ImageFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "missing")


def test_unreadable_image(tmp_path):
    grey_folder(tmp_path)
    (tmp_path / "dog" / "broken.png").write_bytes(b"this is not a png at all")
    with pytest.raises(ValueError, match=r"cannot read image .*broken.png"):
        ImageFolder(tmp_path)


def test_truncated_image_is_reported_when_read(tmp_path):
    grey_folder(tmp_path)
    rng = np.random.default_rng(0)
    p = save(tmp_path / "dog" / "zz.png", rng.integers(0, 256, (6, 5), dtype=np.uint8))
    p.write_bytes(p.read_bytes()[:60])                             # header intact, pixels cut
    ds = ImageFolder(tmp_path)
    with pytest.raises(ValueError, match=r"cannot decode image .*zz.png"):
        ds[len(ds) - 1]


def test_bad_arguments(tmp_path):
    grey_folder(tmp_path)
    with pytest.raises(ValueError, match="mode must be"):
        ImageFolder(tmp_path, mode="CMYK")
    with pytest.raises(TypeError, match="transform must be callable"):
        ImageFolder(tmp_path, transform="resize")
