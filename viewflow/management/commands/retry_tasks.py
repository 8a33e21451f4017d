"""Retry failed tasks from the command line, e.g. after an outage.

    manage.py retry_tasks --flow helloworld --node send
    manage.py retry_tasks --task 42 --task 43
    manage.py retry_tasks --all --dry-run
    manage.py retry_tasks --flow helloworld --scheduled --older-than 10m

Each task is retried through its activation under the flow's lock, as the
retry page does: a job is dispatched again, an automated node runs again.
``--scheduled`` also takes job tasks stuck in SCHEDULED, whose message was
never sent (the broker was down when their step committed) or was lost.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from ...activation import activate
from ...exceptions import FlowRuntimeError
from ...models import Task
from ...registry import all_flows
from ...status import TaskStatus
from ._flows import find_flow, primary_key
from .list_tasks import older_than_moment


class Command(BaseCommand):
    help = "Retry tasks in ERROR (and, with --scheduled, job tasks stuck in SCHEDULED) and print what was done."

    def add_arguments(self, parser):
        parser.add_argument(
            "--task", type=primary_key, action="append", default=[], metavar="PK", help="a task id (repeatable)"
        )
        parser.add_argument(
            "--process", type=primary_key, action="append", default=[], metavar="PK", help="a process id (repeatable)"
        )
        parser.add_argument("--flow", help="a flow label (helloworld) or the flow class's dotted path")
        parser.add_argument("--node", help="a node name, of --flow or of any flow")
        parser.add_argument(
            "--all", action="store_true", help="every task in ERROR (with --scheduled: every stuck job too)"
        )
        parser.add_argument(
            "--scheduled", action="store_true", help="also re-send jobs still SCHEDULED (message never sent or lost)"
        )
        parser.add_argument(
            "--older-than", metavar="DURATION",
            help="with --scheduled: only SCHEDULED tasks created at least this long ago (30s, 10m, 2h)",
        )
        parser.add_argument("--dry-run", action="store_true", help="list the tasks, retry nothing")

    def handle(self, *args, **options):
        if not (options["task"] or options["process"] or options["flow"] or options["node"] or options["all"]):
            raise CommandError("Say which tasks to retry: --task, --process, --flow, --node, or --all.")
        if options["older_than"] and not options["scheduled"]:
            # tasks in ERROR are retried whatever their age: ignoring it would retry more than asked
            raise CommandError("--older-than applies to --scheduled only: add --scheduled, or leave it out.")
        candidates = self.select(options)
        if not candidates:
            self.stdout.write("No task to retry.")
            return
        failed = 0
        for task in candidates:
            label = _label(task)
            if options["dry_run"]:
                self.stdout.write(f"Would retry {label} ({task.status}).")
                continue
            before = task.status
            try:
                with activate(task) as activation:
                    if activation.task.status == TaskStatus.SCHEDULED:
                        activation.retry(scheduled=True)
                    else:
                        activation.retry()
            except (FlowRuntimeError, NotImplementedError) as exc:
                failed += 1
                self.stderr.write(f"Could not retry {label}: {exc}")
                continue
            task.refresh_from_db(fields=["status", "external_task_id", "error"])
            if task.status == TaskStatus.ERROR:  # it ran again at once (in-process) and failed again
                failed += 1
                self.stderr.write(f"Retried {label}: {before} -> ERROR: it failed again (see the task's error).")
                continue
            if task.status == TaskStatus.SCHEDULED and task.error:  # the new message could not be sent either
                failed += 1
                self.stderr.write(f"Could not send the message of {label}: it stays SCHEDULED (see the task's error).")
                continue
            message = f" (message {task.external_task_id})" if task.status == TaskStatus.SCHEDULED else ""
            self.stdout.write(f"Retried {label}: {before} -> {task.status}{message}.")
        if failed:
            raise CommandError(f"{failed} of {len(candidates)} task(s) could not be retried or failed again.")

    def select(self, options):
        wanted = Q(status=TaskStatus.ERROR)
        if options["scheduled"]:
            stuck = Q(status=TaskStatus.SCHEDULED, flow_task_type="JOB")
            if options["older_than"]:
                stuck &= Q(created__lte=older_than_moment(options["older_than"]))
            wanted |= stuck
        queryset = Task._base_manager.filter(wanted)
        if options["task"]:
            queryset = queryset.filter(pk__in=options["task"])
        if options["process"]:
            queryset = queryset.filter(process_id__in=options["process"])
        if options["flow"] or options["node"]:
            queryset = queryset.filter(flow_task__in=self.nodes(options["flow"], options["node"]))
        return list(queryset.order_by("pk"))

    def nodes(self, flow, node_name):
        flows = [find_flow(flow)] if flow else all_flows()
        nodes = [
            node for f in flows for name, node in f._meta.nodes.items() if node_name is None or name == node_name
        ]
        if not nodes:
            raise CommandError(f"No node {node_name!r} in {flow or 'any flow'}.")
        return nodes


def _label(task):
    node = task.flow_task
    where = f"{node.flow_class._meta.flow_label}.{node.name}" if node is not None else "?"
    return f"task #{task.pk} {where} of process #{task.process_id}"
