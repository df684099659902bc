"""Prometheus metrics of the classification path and its feedback (served by ``bot.health`` at
/metrics)."""

from prometheus_client import Counter, Histogram

PREDICTIONS = Counter("neuralmon_predictions_total", "Images classified")
LATENCY = Histogram(
    "neuralmon_prediction_seconds",
    "Time from an attachment to its prediction (download, decode, queue, network)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("neuralmon_errors_total", "Images not classified, by kind", ["kind"])
FEEDBACK = Counter("neuralmon_feedback_total", "Answers kept, by what they said", ["kind"])
