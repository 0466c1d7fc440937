"""Image data sets: the embedded digits, MNIST-style IDX files, and folders of images.

Loaders return plain numpy arrays of images shaped ``(n, H, W)`` or
``(n, C, H, W)``, ready for any skvae estimator, and never hold a second copy
of the data while reading it.
"""

import gzip
import os
import shutil
import struct
import urllib.request
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

__all__ = ["load_digits_images", "load_mnist_like", "load_image_folder"]

# Where Debian's packages (apt-get install dataset-fashion-mnist) put the files.
SYSTEM_DATA_DIR = Path("/usr/share/datasets")

_MNIST_LIKE = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def load_digits_images():
    """The 1,797 8x8 digits that ship with scikit-learn, as images in [0, 1].

    Returns
    -------
    images : ndarray of shape (1797, 8, 8), float32
        Pixel intensities, 0..16 in the original, divided by 16.
    target : ndarray of shape (1797,)
        The digit, 0 to 9.

    Examples
    --------
    >>> from skvae.datasets import load_digits_images
    >>> images, target = load_digits_images()
    >>> images.shape, float(images.max())
    ((1797, 8, 8), 1.0)
    """
    digits = load_digits()
    return (digits.images / 16).astype(np.float32), digits.target


def load_mnist_like(name="fashion-mnist", data_home=None, *, download=False):
    """Load MNIST or Fashion-MNIST from the standard IDX files.

    The four files (``train-images-idx3-ubyte.gz`` and the like, gzipped or
    not) are looked for, in order, in ``data_home``, in ``$SKVAE_DATA/<name>``
    and ``$SKVAE_DATA``, and in ``/usr/share/datasets/<name>``, where
    ``apt-get install dataset-fashion-mnist`` puts Fashion-MNIST on Debian
    and Ubuntu. Nothing is downloaded unless ``download=True``.

    Parameters
    ----------
    name : {"fashion-mnist", "mnist"}, default="fashion-mnist"
    data_home : str or path-like, default=None
        A folder holding the files, and where ``download`` saves them
        (default: ``$SKVAE_DATA/<name>``, or ``~/skvae_data/<name>``).
    download : bool, default=False
        Fetch the files from the data set's public address if they are not
        found locally.

    Returns
    -------
    X_train : ndarray of shape (60000, 28, 28), uint8
    X_test : ndarray of shape (10000, 28, 28), uint8
    y_train : ndarray of shape (60000,), int64
    y_test : ndarray of shape (10000,), int64

    Raises
    ------
    FileNotFoundError
        If the files are in none of the folders (and could not be
        downloaded); the message lists where it looked and how to get them.
    """
    if name not in _MNIST_LIKE:
        raise ValueError(f"name must be one of {sorted(_MNIST_LIKE)}, got {name!r}.")
    folder = _find_idx_folder(name, data_home)
    if folder is None and download:
        folder = _download_idx(name, data_home)
    if folder is None:
        raise FileNotFoundError(_missing_message(name, data_home))
    (X_train, y_train), (X_test, y_test) = (
        (_read_idx(folder, images), _read_idx(folder, labels).astype(np.int64))
        for images, labels in _SPLITS.values()
    )
    return X_train, X_test, y_train, y_test


def _candidate_folders(name, data_home):
    folders = []
    if data_home is not None:
        folders.append(Path(data_home).expanduser())
    if os.environ.get("SKVAE_DATA"):
        env = Path(os.environ["SKVAE_DATA"]).expanduser()
        folders += [env / name, env]
    folders.append(SYSTEM_DATA_DIR / name)
    return folders


def _idx_path(folder, stem):
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _find_idx_folder(name, data_home):
    for folder in _candidate_folders(name, data_home):
        if all(_idx_path(folder, stem) for pair in _SPLITS.values() for stem in pair):
            return folder
    return None


def _missing_message(name, data_home):
    looked = "\n".join(f"  {folder}" for folder in _candidate_folders(name, data_home))
    files = ", ".join(f"{stem}.gz" for pair in _SPLITS.values() for stem in pair)
    how = (
        "install Debian's package (apt-get install dataset-fashion-mnist), "
        if name == "fashion-mnist"
        else ""
    )
    return (
        f"{name} was not found. Looked for {files} in:\n{looked}\n"
        f"To get them, {how}put the four files in one of these folders (or set "
        f"SKVAE_DATA to their folder), or call load_mnist_like({name!r}, "
        f"download=True) on a machine with internet access ({_MNIST_LIKE[name]})."
    )


def _download_idx(name, data_home):
    target = Path(data_home or Path(os.environ.get("SKVAE_DATA", "~/skvae_data")) / name).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    try:
        for stem in (stem for pair in _SPLITS.values() for stem in pair):
            path = target / f"{stem}.gz"
            if not path.is_file():
                with urllib.request.urlopen(_MNIST_LIKE[name] + path.name, timeout=30) as response:
                    with open(path.with_suffix(".part"), "wb") as out:
                        shutil.copyfileobj(response, out)
                path.with_suffix(".part").rename(path)
    except OSError as error:
        warnings.warn(f"Downloading {name} failed: {error}", stacklevel=3)
        return None
    return target


def _read_idx(folder, stem):
    """Read one IDX file straight into a numpy array (no intermediate copy)."""
    path = _idx_path(folder, stem)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        zero, dtype_code, ndim = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
        shape = struct.unpack(f">{ndim}I", f.read(4 * ndim))
        array = np.empty(shape, dtype=np.uint8)
        if f.readinto(memoryview(array).cast("B")) != array.size:
            raise ValueError(f"{path} ends before its {array.size} bytes of data.")
    return array


def load_image_folder(path, image_size=(64, 64), mode="RGB", *, verbose=True):
    """Load every image under a folder, resized to one size, with Pillow.

    Files are read in sorted order, recursively. A file Pillow cannot read, or
    refuses to decode because it claims more pixels than Pillow's
    ``Image.MAX_IMAGE_PIXELS`` allows twice over (a decompression bomb), is
    skipped and reported in a warning, never fatal.

    Parameters
    ----------
    path : str or path-like
        The folder.
    image_size : (height, width), default=(64, 64)
        Every image is resized to this size (Lanczos filter), ignoring its
        aspect ratio; crop beforehand to keep it.
    mode : {"RGB", "L"}, default="RGB"
        Colour (3 channels) or grayscale (1 channel).
    verbose : bool, default=True
        Show a progress bar when there are more than 200 files.

    Returns
    -------
    images : ndarray of shape (n_images, C, height, width), uint8
        Channel-first, as skvae's ``fit`` takes images.
    filenames : list of str
        The path of each image, in the same order.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> from skvae.datasets import load_image_folder
    >>> folder = tempfile.mkdtemp()
    >>> Image.new("RGB", (40, 30), "red").save(f"{folder}/a.png")
    >>> images, names = load_image_folder(folder, image_size=(16, 16))
    >>> images.shape, images[0, :, 0, 0].tolist()
    ((1, 3, 16, 16), [255, 0, 0])
    """
    from PIL import Image, UnidentifiedImageError
    from tqdm.auto import tqdm  # not at import: in a notebook without ipywidgets it warns

    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}.")
    if len(image_size) != 2 or not all(isinstance(s, Integral) and s > 0 for s in image_size):
        raise ValueError(f"image_size must be (height, width) of positive integers, got {image_size!r}.")
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder.")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    height, width = image_size
    channels = 3 if mode == "RGB" else 1
    images = np.empty((len(files), channels, height, width), dtype=np.uint8)
    names, skipped = [], []
    for file in tqdm(files, desc="images", unit="file", disable=not verbose or len(files) <= 200):
        try:
            with Image.open(file) as image:
                pixels = image.convert(mode).resize((width, height), Image.Resampling.LANCZOS)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
            skipped.append(f"{file.name}: {type(error).__name__}")
            continue
        array = np.asarray(pixels)
        images[len(names)] = array[None] if channels == 1 else array.transpose(2, 0, 1)
        names.append(str(file))
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} of {len(files)} files that are not readable images: "
            + "; ".join(skipped[:10])
            + ("; ..." if len(skipped) > 10 else ""),
            stacklevel=2,
        )
    if not names:
        raise ValueError(f"No readable image in {folder} ({len(files)} files).")
    return images[: len(names)], names
