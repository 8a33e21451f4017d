"""``manage.py flow_chart <flow> [-o chart.svg] [--process PK]``: the flow chart as SVG."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...chart import process_chart_state, render_svg
from ._flows import find_flow, primary_key


class Command(BaseCommand):
    help = (
        "Render a flow's chart as SVG, to a file or to stdout. The flow is named by its dotted path "
        "(helloworld.flows.HelloWorldFlow) or its label (helloworld)."
    )

    def add_arguments(self, parser):
        parser.add_argument("flow", help="dotted path of the flow class, or its label")
        parser.add_argument("-o", "--output", help="write the SVG to this file (default: stdout)")
        parser.add_argument(
            "--process", type=primary_key, metavar="PK", help="colour the nodes with this process's state"
        )

    def handle(self, *args, flow, output=None, process=None, **options):
        flow_class = find_flow(flow)
        state = ()
        if process is not None:
            found = flow_class.process_cls._default_manager.filter(pk=process, flow_class=flow_class).first()
            if found is None:
                raise CommandError(f"No process #{process} of {flow_class._meta.flow_label}.")
            state = process_chart_state(flow_class, found.pk)
        svg = render_svg(flow_class, *state)
        if output:
            try:
                with open(output, "w", encoding="utf-8") as file:
                    file.write(svg)
            except OSError as exc:
                raise CommandError(f"Cannot write the chart to {output}: {exc.strerror or exc}.") from None
            self.stderr.write(f"Wrote the chart of {flow_class._meta.title} to {output}.")
        else:
            self.stdout.write(svg)
