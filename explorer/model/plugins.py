"""Models built by Python code: an explicit ``module:factory``, or a loader that an installed
package registers under the ``explorer.models`` entry-point group.

Both run the user's code, so :func:`~explorer.model.open.open_model` calls them only when
the user trusts code on that command (``--trust-code``) or in the window's confirmation;
a session, a recent-files entry or a drop never does without it. What they
return must meet :class:`~explorer.model.contract.VideoVAE` (a
:class:`~explorer.model.torch_vae.TorchVAE` does); anything they raise comes back as a
one-line :class:`~explorer.errors.ModelFileError`.

- ``module:factory`` imports ``module`` (from ``sys.path``, which here starts with the
  current folder) and calls ``factory(device=...)`` when it takes a ``device`` argument,
  else ``factory()`` and then moves the result with ``.to(device)``.
- A registered loader, ``[project.entry-points."explorer.models"] name = "pkg.mod:load"``,
  is called as ``load(argument, device=...)`` for the spec ``name`` (argument None) or
  ``name:argument`` (say, a path to the loader's own weights).

Either gets the device as a concrete torch device string (``cuda``, ``mps``, ``cpu``), never
``auto``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from importlib.metadata import EntryPoint
from typing import Any

from explorer.errors import ExplorerError, ModelFileError, describe_error
from explorer.model.contract import VideoVAE, check_frame_side
from explorer.model.devices import resolve_device
from explorer.model.kinds import PLUGIN_SPEC

USER_CODE_ERRORS = (Exception, SystemExit)
"""What user code may raise that must not end the program: a plugin's ``sys.exit()``
becomes a one-line error like any other failure (Ctrl-C still stops)."""
# Every member of the contract; the ones that must be callable are its methods.
_MEMBERS = (*VideoVAE.__annotations__, *(n for n in vars(VideoVAE) if not n.startswith("_")))
_METHODS = tuple(n for n in _MEMBERS if inspect.isfunction(vars(VideoVAE).get(n)))


def load_plugin(spec: str, device: str = "auto") -> VideoVAE:
    """Import ``module``, call ``factory`` and check that it returned a video VAE."""
    match = PLUGIN_SPEC.fullmatch(spec)
    if match is None:
        raise ModelFileError(f"{spec!r} is not a plugin: write it as package.module:factory")
    module_name, attribute = match.groups()
    target = str(resolve_device(device))
    factory = _resolve(spec, module_name, attribute)
    takes_device = _accepts_device(factory)
    origin = f"plugin {spec}"
    vae = _call(origin, lambda: factory(device=target) if takes_device else factory())
    vae = check_contract(vae, origin)
    if not takes_device:
        _call(f"{origin}: moving its model to {target}", lambda: vae.to(target))
    return vae


def load_registered(
    point: EntryPoint, argument: str | None = None, device: str = "auto"
) -> VideoVAE:
    """Call a registered loader as ``load(argument, device=...)`` and check its result."""
    target = str(resolve_device(device))
    package = getattr(getattr(point, "dist", None), "name", None)
    origin = f"model loader {point.name!r}" + (f" (from {package})" if package else "")
    try:
        loader = point.load()
    except USER_CODE_ERRORS as exc:
        raise ModelFileError(
            f"{origin} raised {describe_error(exc, with_type=True)} while importing"
        ) from exc
    return check_contract(_call(origin, lambda: loader(argument, device=target)), origin)


def check_contract(candidate: Any, origin: str) -> VideoVAE:
    """``candidate`` if it meets the VideoVAE contract, else a one-line error naming the gaps."""
    try:
        missing = [name for name in _MEMBERS if not hasattr(candidate, name)]
        missing += [n for n in _METHODS if n not in missing and not callable(getattr(candidate, n))]
    except Exception as exc:  # a property of the user's object raised
        raise ModelFileError(
            f"{origin} returned a model that raised {describe_error(exc, with_type=True)}"
        ) from exc
    if missing:
        raise ModelFileError(
            f"{origin} returned {_a(candidate)}, which is not a video VAE: "
            f"missing {', '.join(missing)} (see explorer.model.contract.VideoVAE)"
        )
    size, shape = candidate.frame_size, candidate.latent_shape
    if not (_positive_ints(size) and len(size) == 2 and _positive_ints(shape) and len(shape)):
        raise ModelFileError(
            f"{origin} returned a model with frame_size {size!r} and latent_shape {shape!r}; "
            "they must be (height, width) and a tuple of sizes"
        )
    check_frame_side(origin, tuple(size))
    return candidate


def _resolve(spec: str, module_name: str, attribute: str) -> Callable[..., Any]:
    """The factory object, importing its module from ``sys.path`` and the current folder."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ModelFileError(
                f"plugin {spec}: no module named {exc.name!r} (not installed, "
                "and not in the current folder)"
            ) from exc
        raise ModelFileError(
            f"plugin {spec} raised {describe_error(exc, with_type=True)} while importing"
        ) from exc
    except USER_CODE_ERRORS as exc:
        raise ModelFileError(
            f"plugin {spec} raised {describe_error(exc, with_type=True)} while importing"
        ) from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ModelFileError(f"plugin {spec}: {module_name} has no {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ModelFileError(f"plugin {spec}: {attribute} is {_a(target)}, not a factory")
    return target


def _accepts_device(factory: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # some builtins and extension types have none
        return False
    return any(p.name == "device" or p.kind is p.VAR_KEYWORD for p in parameters)


def _call(origin: str, action: Callable[[], Any]) -> Any:
    """Run user code; its exceptions become one-line errors that say whose they were."""
    try:
        return action()
    except ExplorerError as exc:  # already a readable sentence
        raise ModelFileError(f"{origin}: {exc}") from exc
    except USER_CODE_ERRORS as exc:
        raise ModelFileError(f"{origin} raised {describe_error(exc, with_type=True)}") from exc


def _a(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def _positive_ints(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    )
