"""The explorer's web app: the page, and a JSON API over :class:`~dcgan.serve.explorer.Explorer`.

A request to a class-conditional checkpoint carries its class index as ``label`` (the page's class menu).
Every request is validated by a pydantic model whose bounds (:class:`Limits`) keep one
request small, and at most ``Limits.concurrent`` generations run at once (others wait up to
``Limits.wait_s``, then get 503), so one browser tab cannot exhaust the machine. Every error
is JSON ``{"error": ..., "fix": ...}`` that the page shows as a message.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from ..errors import DCGANError
from ..experiments.latent import z_bytes
from .explorer import Explorer, grid_png, png, safe_stem

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Limits:
    """Bounds of one request, and of the work in flight."""

    sheet: int = 64  # samples per sheet
    points: int = 8  # points of one walk, exemplars of one concept, samples moved along a direction
    steps: int = 16  # images per walk segment, strengths per direction
    noise_samples: int = 16  # Y + noise samples of an arithmetic
    concepts: int = 6
    z_rows: int = 512  # rows of a downloaded z file
    concurrent: int = 2  # generations at once
    wait_s: float = 30.0  # how long a request waits for its turn


LIMITS = Limits()
ZValue = Annotated[float, Field(ge=-1e3, le=1e3)]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]
Label = Annotated[int | None, Field(ge=0, le=2**31 - 1)]  # the class index of a conditional checkpoint


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SheetRequest(Strict):
    checkpoint: str
    label: Label = None
    seed: Seed = 0
    n: Annotated[int, Field(ge=1, le=LIMITS.sheet)] = 16


def z_rows(low: int, high: int):
    return Annotated[list[list[ZValue]], Field(min_length=low, max_length=high)]


class WalkRequest(Strict):
    checkpoint: str
    label: Label = None
    z: z_rows(2, LIMITS.points)
    steps: Annotated[int, Field(ge=2, le=LIMITS.steps)] = 8
    spherical: bool = True


class ArithmeticRequest(Strict):
    checkpoint: str
    label: Label = None
    expression: Annotated[str, Field(min_length=1, max_length=200)]
    concepts: Annotated[
        dict[Annotated[str, Field(max_length=40)], z_rows(1, LIMITS.points)],
        Field(min_length=1, max_length=LIMITS.concepts),
    ]
    noise_samples: Annotated[int, Field(ge=0, le=LIMITS.noise_samples)] = 8
    noise_scale: Annotated[float, Field(ge=0, le=2)] = 0.25
    seed: Seed = 0


class DirectionRequest(Strict):
    checkpoint: str
    label: Label = None
    positive: z_rows(1, LIMITS.points)
    negative: z_rows(1, LIMITS.points)
    z: z_rows(1, LIMITS.points)
    strengths: Annotated[list[Annotated[float, Field(ge=-10, le=10)]], Field(min_length=1, max_length=LIMITS.steps)]


class ZFileRequest(Strict):
    z: z_rows(1, LIMITS.z_rows)
    name: Annotated[str, Field(min_length=1, max_length=80)] = "z"
    meta: dict[str, str | int | float | bool] = {}


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def images_json(z: torch.Tensor, images: torch.Tensor) -> dict:
    """z and images of any leading shape as nested lists, the images as PNG data URIs."""
    flat = [data_uri(p) for p in png(images.reshape(-1, *images.shape[-3:]))]
    lead = images.shape[:-3]
    if len(lead) == 2:
        flat = [flat[i * lead[1] : (i + 1) * lead[1]] for i in range(lead[0])]
    return {"z": z.tolist(), "images": flat}


def error(status: int, problem: str, fix: str | None = None) -> JSONResponse:
    return JSONResponse({"error": problem, "fix": fix}, status_code=status)


def create_app(explorer: Explorer, limits: Limits = LIMITS) -> FastAPI:
    """The app serving ``explorer``: the page at ``/``, its files under ``/static``, the API under ``/api``."""
    app = FastAPI(title="dcgan explorer", docs_url=None, redoc_url=None)
    turns = threading.BoundedSemaphore(limits.concurrent)

    def bounded(work: Callable[[], dict]) -> dict | JSONResponse:
        if not turns.acquire(timeout=limits.wait_s):
            return error(503, "the explorer is busy with other requests", "try again in a moment")
        try:
            with torch.inference_mode():
                return work()
        finally:
            turns.release()

    @app.exception_handler(DCGANError)
    async def user_error(request: Request, exc: DCGANError) -> JSONResponse:
        return error(400, exc.problem, exc.fix)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()[:5]]
        return error(422, "invalid request: " + "; ".join(parts), "check the values against the limits in /api/info")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/info")
    def info() -> dict:
        return {"checkpoints": explorer.describe(), "limits": limits.__dict__}

    @app.post("/api/sheet")
    def sheet(req: SheetRequest):
        def work() -> dict:
            z, images = explorer.sheet(req.checkpoint, req.seed, req.n, req.label)
            return {**images_json(z, images), "grid": data_uri(grid_png(images)), "seed": req.seed}

        return bounded(work)

    @app.post("/api/walk")
    def walk(req: WalkRequest):
        return bounded(
            lambda: images_json(
                *explorer.walk(req.checkpoint, explorer.z(req.checkpoint, req.z), req.steps, req.spherical, req.label)
            )
        )

    @app.post("/api/arithmetic")
    def arithmetic(req: ArithmeticRequest):
        def work() -> dict:
            concepts = {name: explorer.z(req.checkpoint, rows) for name, rows in req.concepts.items()}
            return images_json(
                *explorer.arithmetic(
                    req.checkpoint, req.expression, concepts, req.noise_samples, req.noise_scale, req.seed, req.label
                )
            )

        return bounded(work)

    @app.post("/api/direction")
    def direction(req: DirectionRequest):
        def work() -> dict:
            zs = [explorer.z(req.checkpoint, rows) for rows in (req.positive, req.negative, req.z)]
            return images_json(*explorer.direction(req.checkpoint, *zs, torch.tensor(req.strengths), req.label))

        return bounded(work)

    @app.post("/api/zfile")
    def zfile(req: ZFileRequest) -> Response:
        """The z as a z file (safetensors), readable by the CLI as ``NAME.safetensors#cells``."""
        if len({len(row) for row in req.z}) != 1:
            raise DCGANError("the rows of z have different lengths", "send rows of one checkpoint's nz numbers")
        name = safe_stem(req.name) + ".safetensors"
        data = z_bytes(torch.tensor(req.z), **req.meta)
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data, media_type="application/octet-stream", headers=headers)

    return app
