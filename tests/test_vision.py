"""autograd_cnn.vision, imported as torchvision: datasets with torchvision's folders, files,
download rules and samples; models with ``weights=``; utils.make_grid / save_image."""

import gzip
import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest
from PIL import Image

import autograd_cnn as ac
import autograd_cnn.vision as torchvision
from autograd_cnn.data import DataLoader, fetch
from autograd_cnn.vision import datasets, models, transforms, utils


def test_the_torchvision_import_line_works():
    from autograd_cnn.vision import datasets as d, models as m, transforms as t, utils as u
    assert (d, m, t, u) == (torchvision.datasets, torchvision.models, torchvision.transforms,
                            torchvision.utils)
    assert transforms.ToTensor is ac.data.transforms.ToTensor       # one home, re-exported
    assert transforms.functional.to_tensor(np.zeros((2, 3), np.uint8)).shape == (1, 2, 3)


# ---- MNIST / FashionMNIST ----------------------------------------------------------------------

def idx_bytes(arr):
    arr = np.asarray(arr, np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape) \
        + arr.tobytes()


def write_mnist(raw, n_train=6, n_test=3, gz=False, seed=0):
    """The four IDX files in ``raw``; returns {file name: bytes written} and the arrays."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    files, arrays = {}, {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        arrays[prefix] = (images, labels)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte" + (".gz" if gz else "")
            data = gzip.compress(idx_bytes(arr)) if gz else idx_bytes(arr)
            (raw / name).write_bytes(data)
            files[name] = data
    return files, arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_layout_and_samples(tmp_path, gz):
    _, arrays = write_mnist(tmp_path / "MNIST" / "raw", gz=gz)
    ds = datasets.MNIST(str(tmp_path), train=True)
    images, labels = arrays["train"]
    assert len(ds) == 6
    img, target = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    assert np.array_equal(np.asarray(img), images[2]) and target == labels[2]
    assert type(target) is int
    assert ds.data.shape == (6, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.dtype == np.int64 and ds.targets.numpy().tolist() == labels.tolist()
    assert ds.classes[3] == "3 - three" and ds.class_to_idx["9 - nine"] == 9
    assert ds.train_data is ds.data and ds.train_labels is ds.targets    # torchvision's old names
    test = datasets.MNIST(tmp_path, train=False, transform=transforms.ToTensor(),
                          target_transform=lambda y: y + 100)
    x, y = test[0]
    assert isinstance(x, ac.Tensor) and x.shape == (1, 28, 28)
    np.testing.assert_allclose(x.numpy()[0], arrays["t10k"][0][0] / 255, rtol=1e-6)
    assert y == arrays["t10k"][1][0] + 100
    assert "Split: Test" in repr(test) and "Number of datapoints: 3" in repr(test)


def test_mnist_through_a_dataloader_as_in_the_tutorials(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw")
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    loader = DataLoader(datasets.MNIST(tmp_path, transform=tf), batch_size=4, shuffle=True,
                        seed=0)
    x, y = next(iter(loader))
    assert x.shape == (4, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64


def test_mnist_missing_files_raise_torchvisions_error(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True to "
                                           "download it"):
        datasets.MNIST(tmp_path)
    write_mnist(tmp_path / "MNIST" / "raw")                 # FashionMNIST has its own folder
    with pytest.raises(RuntimeError, match=r"Dataset not found.*FashionMNIST[/\\]raw"):
        datasets.FashionMNIST(tmp_path)


def test_mnist_download_only_fetches_what_is_missing(tmp_path, monkeypatch):
    # the published files, made here, served from a file:// mirror with their own checksums
    mirror = tmp_path / "mirror"
    files, arrays = write_mnist(mirror, gz=True)
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["file://" + str(mirror) + "/"])
    monkeypatch.setattr(datasets.MNIST, "resources",
                        [(name, hashlib.sha256(data).hexdigest()) for name, data in files.items()])
    calls = []
    real = fetch.download
    monkeypatch.setattr(fetch, "download", lambda url, *a, **k: calls.append(url) or
                        real(url, *a, **k))
    root = tmp_path / "data"
    ds = datasets.MNIST(root, download=True)
    assert len(calls) == 4 and (root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()
    assert np.array_equal(ds.data.numpy(), arrays["train"][0])
    datasets.MNIST(root, train=False, download=True)        # all there: no download at all
    assert len(calls) == 4
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    datasets.MNIST(root, train=False, download=True)        # only the missing file
    assert len(calls) == 5 and calls[-1].endswith("t10k-labels-idx1-ubyte.gz")
    # a mirror with a wrong file: the checksum refuses it and nothing is saved
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(RuntimeError, match=r"(?s)Error downloading t10k-labels-idx1-ubyte.gz.*SHA-256"):
        datasets.MNIST(root, download=True)
    assert not (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").exists()


def test_fashion_mnist_classes_and_folder(tmp_path):
    write_mnist(tmp_path / "FashionMNIST" / "raw")
    ds = datasets.FashionMNIST(tmp_path, train=False)
    assert len(ds) == 3 and ds.classes[9] == "Ankle boot"
    assert ds.raw_folder.endswith("FashionMNIST/raw")


# ---- CIFAR10 / CIFAR100 (the python version, unpickled safely) --------------------------------

def cifar_batch(n, seed, key="labels", classes=10):
    rng = np.random.default_rng(seed)
    return {"batch_label": f"batch {seed}", key: rng.integers(0, classes, n).tolist(),
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "filenames": [f"img{i}.png" for i in range(n)]}


def write_cifar10(root, monkeypatch, n=4):
    """Batches pickled as the published ones are (protocol 2); CIFAR10's MD5 table pointed at
    them. Returns the batches."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {f"data_batch_{i}": cifar_batch(n, i) for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(n, 9)
    batches["batches.meta"] = {"label_names": ["airplane", "automobile", "bird", "cat", "deer",
                                               "dog", "frog", "horse", "ship", "truck"]}
    md5 = {}
    for name, entry in batches.items():
        data = pickle.dumps(entry, protocol=2)
        (folder / name).write_bytes(data)
        md5[name] = hashlib.md5(data).hexdigest()
    monkeypatch.setattr(datasets.CIFAR10, "train_list",
                        [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta",
                                                   "key": "label_names",
                                                   "md5": md5["batches.meta"]})
    return batches


def test_cifar10_layout_samples_and_classes(tmp_path, monkeypatch):
    batches = write_cifar10(tmp_path, monkeypatch)
    ds = datasets.CIFAR10(tmp_path, train=True)
    assert len(ds) == 20 and ds.data.shape == (20, 32, 32, 3) and ds.data.dtype == np.uint8
    img, target = ds[5]                                       # batch 2, image 1
    first = batches["data_batch_2"]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (32, 32)
    expected = first["data"][1].reshape(3, 32, 32).transpose(1, 2, 0)   # R, G, B planes -> HWC
    assert np.array_equal(np.asarray(img), expected) and target == first["labels"][1]
    assert ds.targets[:4] == batches["data_batch_1"]["labels"]
    assert ds.classes[3] == "cat" and ds.class_to_idx["truck"] == 9
    x, _ = datasets.CIFAR10(tmp_path, train=False, transform=transforms.ToTensor())[0]
    assert x.shape == (3, 32, 32)
    np.testing.assert_allclose(x.numpy(), batches["test_batch"]["data"][0].reshape(3, 32, 32)
                               / 255, rtol=1e-6)


def test_cifar10_missing_corrupt_and_hostile_files(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use "
                                           "download=True"):
        datasets.CIFAR10(tmp_path)
    write_cifar10(tmp_path, monkeypatch)
    folder = tmp_path / "cifar-10-batches-py"
    good = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(good[:-10])                    # damaged: MD5 differs
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR10(tmp_path)
    # a pickle that would run code is refused before anything is called, even with a good MD5

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    evil = pickle.dumps({"data": Evil(), "labels": []}, protocol=2)
    (folder / "data_batch_3").write_bytes(evil)
    table = [list(e) for e in datasets.CIFAR10.train_list]
    table[2][1] = hashlib.md5(evil).hexdigest()
    monkeypatch.setattr(datasets.CIFAR10, "train_list", table)
    with pytest.raises(ValueError, match=r"refused to unpickle: global (__builtin__|builtins)"
                                         r"\.print is not allowed"):
        datasets.CIFAR10(tmp_path)


def test_cifar10_download_extracts_the_archive_once(tmp_path, monkeypatch):
    source = tmp_path / "source"
    write_cifar10(source, monkeypatch)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(datasets.CIFAR10, "url", "file://" + str(archive))
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    root = tmp_path / "root"
    ds = datasets.CIFAR10(root, train=False, download=True)
    assert len(ds) == 4 and (root / "cifar-10-python.tar.gz").is_file()
    monkeypatch.setattr(fetch, "download", lambda *a, **k: pytest.fail("downloaded again"))
    datasets.CIFAR10(root, download=True)                    # intact: nothing is fetched


def test_cifar_archive_members_outside_the_root_are_refused(tmp_path, monkeypatch):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    monkeypatch.setattr(datasets.CIFAR10, "url", "file://" + str(archive))
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    with pytest.raises(ValueError, match=r"refusing archive member '\.\./outside\.txt'"):
        datasets.CIFAR10(tmp_path / "root", download=True)
    assert not (tmp_path / "outside.txt").exists()


def test_cifar100_fine_labels(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    entries = {"train": cifar_batch(3, 1, "fine_labels", 100), "test": cifar_batch(2, 2,
                                                                                  "fine_labels", 100),
               "meta": {"fine_label_names": [f"c{i}" for i in range(100)],
                        "coarse_label_names": [f"s{i}" for i in range(20)]}}
    md5 = {}
    for name, entry in entries.items():
        entry = {k.encode(): v for k, v in entry.items()}      # bytes keys, as encoding="bytes"
        data = pickle.dumps(entry, protocol=4)
        (folder / name).write_bytes(data)
        md5[name] = hashlib.md5(data).hexdigest()
    monkeypatch.setattr(datasets.CIFAR100, "train_list", [["train", md5["train"]]])
    monkeypatch.setattr(datasets.CIFAR100, "test_list", [["test", md5["test"]]])
    monkeypatch.setattr(datasets.CIFAR100, "meta", {"filename": "meta", "key": "fine_label_names",
                                                    "md5": md5["meta"]})
    ds = datasets.CIFAR100(tmp_path)
    assert len(ds) == 3 and ds.targets == entries["train"]["fine_labels"]
    assert ds.classes[42] == "c42"


# ---- ImageFolder / DatasetFolder ---------------------------------------------------------------

def image_tree(root):
    for cls, n in (("dog", 2), ("cat", 1)):
        (root / cls / "sub").mkdir(parents=True)
        for i in range(n):
            Image.new("L", (5, 4), color=40 * i).save(root / cls / f"{i}.png")
        (root / cls / "notes.txt").write_text("not an image")
    Image.new("RGB", (3, 3)).save(root / "dog" / "sub" / "deep.JPG")


def test_image_folder_as_torchvision(tmp_path):
    image_tree(tmp_path)
    ds = datasets.ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    names = [p.replace(str(tmp_path), "") for p, _ in ds.samples]
    assert names == ["/cat/0.png", "/dog/0.png", "/dog/1.png", "/dog/sub/deep.JPG"]
    assert ds.targets == [0, 1, 1, 1] and ds.imgs is ds.samples
    img, y = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (5, 4) and y == 1
    tf = transforms.Compose([transforms.Resize((8, 8)), transforms.ToTensor()])
    assert datasets.ImageFolder(tmp_path, transform=tf)[3][0].shape == (3, 8, 8)
    only_png = datasets.ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith(".png"))
    assert len(only_png) == 3
    texts = datasets.DatasetFolder(tmp_path, loader=lambda p: open(p).read(), extensions=".txt")
    assert texts[0] == ("not an image", 0)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    Image.new("L", (2, 2)).save(tmp_path / "full" / "a.png")
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty. "
                                                "Supported extensions are: .jpg, .jpeg"):
        datasets.ImageFolder(tmp_path)
    assert len(datasets.ImageFolder(tmp_path, allow_empty=True)) == 1
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None"):
        datasets.DatasetFolder(tmp_path, loader=print)
    (tmp_path / "full" / "b.png").write_bytes(b"\x89PNG not really")
    ds = datasets.ImageFolder(tmp_path, allow_empty=True)
    with pytest.raises(ValueError, match=r"pil_loader: cannot read image .*b.png"):
        ds[1]


# ---- models ------------------------------------------------------------------------------------

def test_model_constructors_take_weights(tmp_path):
    model = models.resnet18(weights=None, num_classes=3)
    assert isinstance(model, models.ResNet) and model.fc.out_features == 3
    state = model.state_dict()
    ac.save(state, tmp_path / "r18.safetensors")
    for weights in (str(tmp_path / "r18.safetensors"), tmp_path / "r18.safetensors", state,
                    {"state_dict": state}):
        again = models.resnet18(weights=weights, num_classes=3)
        for k, v in again.state_dict().items():
            np.testing.assert_array_equal(np.asarray(v), np.asarray(state[k]))
    assert models.resnet18(pretrained=False, num_classes=2).fc.out_features == 2
    assert models.get_model("resnet18", num_classes=4).fc.out_features == 4
    assert "vgg16_bn" in models.list_models() and models.LeNet5 is ac.models.LeNet5


@pytest.mark.parametrize("weights", ["IMAGENET1K_V1", "DEFAULT", "ResNet18_Weights.IMAGENET1K_V1",
                                     models.ResNet18_Weights.DEFAULT])
def test_named_weights_say_nothing_is_downloaded(weights):
    with pytest.raises(ValueError, match=r"resnet18: weights='.*' names torchvision's pretrained "
                                         r"weights, and nothing is downloaded here.*"
                                         r"weights='path/to/resnet18.pth'"):
        models.resnet18(weights=weights)


def test_weights_errors(tmp_path):
    with pytest.raises(ValueError, match="pretrained=True.*nothing is downloaded"):
        models.resnet18(pretrained=True)
    with pytest.raises(FileNotFoundError, match="weights file .*missing.pth' does not exist"):
        models.resnet18(weights=str(tmp_path / "missing.pth"))
    with pytest.raises(TypeError, match="weights must be None, a state dict or the path"):
        models.resnet18(weights=3)
    assert str(models.ResNet50_Weights.DEFAULT) == "ResNet50_Weights.IMAGENET1K_V2"


# ---- utils -------------------------------------------------------------------------------------

def test_make_grid_as_torchvision():
    x = np.arange(3 * 1 * 2 * 2, dtype=np.float32).reshape(3, 1, 2, 2)
    grid = utils.make_grid(ac.tensor(x), nrow=2, padding=1, pad_value=0.5)
    # 2 columns x 2 rows of 2x2 images, 1 pixel of padding around each: (3, 7, 7), grey -> RGB
    assert isinstance(grid, ac.Tensor) and grid.shape == (3, 7, 7)
    g = grid.numpy()[0]
    expected = np.full((7, 7), 0.5, np.float32)
    expected[1:3, 1:3], expected[1:3, 4:6], expected[4:6, 1:3] = x[0, 0], x[1, 0], x[2, 0]
    np.testing.assert_array_equal(g, expected)
    np.testing.assert_array_equal(grid.numpy()[1], g)
    assert utils.make_grid(x, nrow=8).shape == (3, 6, 14)          # one row of three, padding 2
    # normalize maps the batch's [min, max] (or value_range) to [0, 1]; scale_each per image
    n = utils.make_grid(x, normalize=True, padding=0, nrow=3).numpy()
    assert n.min() == 0 and n.max() == 1 and n[0, 0, 0] == 0 and n[0, 1, 5] == 1
    r = utils.make_grid(x, normalize=True, value_range=(2.0, 4.0), padding=0).numpy()
    assert r[0, 0, 0] == 0 and r[0, 1, 0] == 0 and r[0, 1, 1] == 0.5 and r[0, 0, 2] == 1
    each = utils.make_grid(x, normalize=True, scale_each=True, padding=0, nrow=3).numpy()
    np.testing.assert_allclose(each[0, :, :2], [[0, 1 / 3], [2 / 3, 1]], rtol=1e-6)
    np.testing.assert_allclose(each[0, :, 2:4], [[0, 1 / 3], [2 / 3, 1]], rtol=1e-6)
    assert x[0, 0, 0, 1] == 1.0                                       # the input is untouched
    single = utils.make_grid(x[:1])                                   # one image: no padding
    assert single.shape == (3, 2, 2)
    assert utils.make_grid([ac.tensor(x[0]), ac.tensor(x[1])], padding=0).shape == (3, 2, 4)
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        utils.make_grid(x, normalize=True, value_range=[0, 1])


def test_save_image_rounds_to_8_bits(tmp_path):
    x = ac.tensor([[[[0.0, 0.5], [0.998, 1.2]]]])
    utils.save_image(x, tmp_path / "one.png")
    # x * 255 + 0.5, clamped, truncated: 0, 128, 254 (254.99), 255
    saved = np.asarray(Image.open(tmp_path / "one.png"))
    assert saved.shape == (2, 2, 3) and saved[..., 0].tolist() == [[0, 128], [254, 255]]
    batch = ac.rand(5, 3, 4, 4)
    utils.save_image(batch, tmp_path / "grid.png", nrow=3, padding=1)
    assert Image.open(tmp_path / "grid.png").size == (3 * 5 + 1, 2 * 5 + 1)


def test_a_torchvision_pth_file_loads_through_weights(tmp_path):
    """A .pth in torch's zip format with torchvision's resnet18 keys and shapes (the recorded key
    list, random values), as a user who downloaded the ImageNet weights would pass it."""
    import json
    from collections import OrderedDict
    from pathlib import Path
    from test_torch_format import write_torch_zip
    spec = json.loads((Path(__file__).parent / "data" / "torchvision_state_dicts.json")
                      .read_text())["resnet18"]["keys"]
    rng = np.random.default_rng(0)
    state = OrderedDict((k, np.array(3, np.int64) if k.endswith("num_batches_tracked")
                         else rng.standard_normal(tuple(s)).astype(np.float32)) for k, s in spec)
    with open(tmp_path / "resnet18-f37072fd.pth", "wb") as f:
        write_torch_zip(state, f)
    model = models.resnet18(weights=str(tmp_path / "resnet18-f37072fd.pth"))
    np.testing.assert_array_equal(model.fc.weight.detach().numpy(), state["fc.weight"])
    with pytest.raises(RuntimeError, match=r"size mismatch for fc.weight.*\(1000, 512\)"):
        models.resnet18(weights=tmp_path / "resnet18-f37072fd.pth", num_classes=10)
