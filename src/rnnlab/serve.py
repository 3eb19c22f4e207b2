"""Prediction over HTTP: a small FastAPI app around a loaded model.

    rnnlab serve [MODEL_DIR] --port 8000
    curl -s localhost:8000/predict -H 'content-type: application/json' \
         -d '{"texts": ["What a film!"]}'
    # {"predictions": [{"label": "pos", "score": 0.97}]}

Endpoints: ``POST /predict`` (``{"texts": [...]}`` -> ``{"predictions": [...]}``),
``GET /health``, ``GET /model`` (labels, architecture, metrics of the model).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

MAX_TEXTS = 1000  # per request


class PredictRequest(BaseModel):
    texts: list[str] = Field(..., description="Texts to classify.")


def create_app(model) -> Any:
    """A FastAPI app serving ``model`` (a TextClassifier from ``rnnlab.load``)."""
    app = FastAPI(title="rnnlab", description="Text classification with recurrent networks.")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/model")
    def info() -> dict[str, Any]:
        config = model.config
        return {
            "labels": model.label_names,
            "backend": model.backend,
            "model": config.get("model") or config.get("model_type"),  # recurrent / linear
            "rnnlab_version": config.get("rnnlab_version"),
            "path": str(model.path),
        }

    @app.post("/predict")
    def predict(request: PredictRequest) -> dict[str, Any]:
        if len(request.texts) > MAX_TEXTS:
            raise HTTPException(
                status_code=413,
                detail=f"at most {MAX_TEXTS} texts per request, got {len(request.texts)}; "
                "split the request",
            )
        return {"predictions": model.predict(request.texts)}

    return app
