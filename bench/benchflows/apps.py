from django.apps import AppConfig


class BenchFlowsConfig(AppConfig):
    name = "bench.benchflows"
    label = "benchflows"
