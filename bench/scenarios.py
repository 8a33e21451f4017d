"""The five scenarios of the peer harness, run on this library through its public API and pages.

Each function runs one scenario on the configured, migrated database and returns
its figures. Same N, same steps per process, same requests, same users and
permissions, same warm-up, same inbox shape and the same JSON fields as the peer
harness; what differs is said in ``notes``.
"""

from __future__ import annotations

import queue
import re
import statistics
import sys
import threading
import time
from datetime import timedelta

from .core import CommitClock, QueryCounter, analyze_database, current_rss_mib, latency_summary_ms, sql_figures

PASSWORD = "bench-password"
HELLO_FLOWS = {"handler": "bench.benchflows.flows.HelloHandlerFlow", "job": "helloworld.flows.HelloWorldFlow"}


def log(message):
    print(f"    {message}", file=sys.stderr, flush=True)


# -- helpers -----------------------------------------------------------------------


def make_users():
    """alice may start hello world processes, bob may approve them (as in the peer harness)."""
    from django.contrib.auth.models import Permission, User

    def perms(*codenames):
        found = list(Permission.objects.filter(content_type__app_label="helloworld", codename__in=codenames))
        assert len(found) == len(codenames), (codenames, found)
        return found

    alice = User.objects.create_user("alice", password=PASSWORD)
    alice.user_permissions.add(*perms("view_helloworldprocess", "can_start_helloworldprocess"))
    bob = User.objects.create_user("bob", password=PASSWORD)
    bob.user_permissions.add(*perms("view_helloworldprocess", "can_approve_helloworldprocess"))
    return alice, bob


def logged_in_client(username):
    from django.test import Client

    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def drop_flash_messages(client):
    """Forget the flash message of a POST (a browser would show it on the next page)."""
    client.cookies.pop("messages", None)


def process_pk_from_redirect(response):
    from django.urls import resolve

    return int(resolve(response["Location"].split("?")[0]).kwargs["process_pk"])


class Steps:
    """Per-step SQL counters."""

    def __init__(self, *names):
        self.counters = {name: QueryCounter() for name in names}
        self.commits = CommitClock()

    def __getitem__(self, name):
        return self.counters[name]

    def reset(self):
        for counter in self.counters.values():
            counter.reset()
        self.commits.reset()

    def totals(self):
        from collections import Counter

        total = Counter()
        for counter in self.counters.values():
            total.update(counter.snapshot())
        return total

    def figures(self, units):
        """SQL per process by category, commits per process and their time."""
        return {**sql_figures(self.totals(), units), **self.commits.figures(units)}

    def per_step(self, units):
        return {name: round(counter.total / units, 2) for name, counter in self.counters.items()}


def timed_loop(one, n, warmup, steps, durations):
    """Run ``one(i)`` ``warmup`` times untimed (negative i), then n times; return the wall time of those n."""
    for i in range(warmup):
        one(-i - 1)
    steps.reset()
    durations.clear()
    with steps.commits.installed():
        started = time.perf_counter()
        for i in range(n):
            one(i)
        return time.perf_counter() - started


def check_hello_processes(flow_class, expected_done, expected_sent):
    """Every process DONE with its 5 tasks, ``send`` done once per process."""
    from django.db.models import Count

    from viewflow.models import Process, Task

    processes = Process.objects.filter(flow_class=flow_class)
    done = processes.filter(status="DONE").count()
    wrong = processes.annotate(n=Count("task")).exclude(n=5).count()
    sent = Task.objects.filter(process__flow_class=flow_class, flow_task=flow_class.send, status="DONE").count()
    return {
        "processes_done": done,
        "processes_done_expected": expected_done,
        "send_calls": sent,
        "send_calls_expected": expected_sent,
        "processes_without_5_tasks": wrong,
        "ok": done == expected_done and sent == expected_sent and wrong == 0,
    }


def hello_flow(variant):
    from django.utils.module_loading import import_string

    return import_string(HELLO_FLOWS[variant])


HELLO_NOTES = {
    "handler": "hello world of DESIGN §1 with send = flow.Handler (synchronous, in the approve step, like the "
    "peer's flow.Function); same process model (multi-table: viewflow_process + helloworld_helloworldprocess)",
    "job": "hello world exactly as DESIGN §1: send = celery.Job, run in-process right after the approve step "
    "commits (no broker), i.e. one more locked step per process",
}


# -- 1. hello_http -------------------------------------------------------------------


def hello_http(n, warmup=5, variant="handler", **_):
    """Alice POSTs the start form; Bob POSTs the approve task's assign URL, then the task form."""
    if variant == "floor":
        return hello_floor(n, warmup)
    from viewflow.models import Task
    from viewflow.views.urls import flow_url

    flow_class = hello_flow(variant)
    make_users()
    alice = logged_in_client("alice")
    bob = logged_in_client("bob")
    start_url = flow_url(flow_class, "start")
    approve = flow_class.approve
    label = flow_class._meta.flow_label
    steps = Steps("start_post", "assign_post", "approve_post")
    durations = []

    from django.urls import reverse

    def one(i):
        started = time.perf_counter()
        with steps["start_post"].installed():
            response = alice.post(start_url, {"text": f"Hello, world #{i}"})
        assert response.status_code == 302, response.status_code
        drop_flash_messages(alice)
        # Bob would click the task in his queue; its id is looked up (timed, not counted)
        process_pk = process_pk_from_redirect(response)
        task_pk = Task.objects.filter(process_id=process_pk, flow_task=approve).values_list("pk", flat=True).get()
        kwargs = {"process_pk": process_pk, "task_pk": task_pk}
        with steps["assign_post"].installed():
            response = bob.post(reverse(f"viewflow:{label}:approve__assign", kwargs=kwargs), {})
        assert response.status_code == 302, response.status_code
        drop_flash_messages(bob)
        with steps["approve_post"].installed():
            response = bob.post(reverse(f"viewflow:{label}:approve", kwargs=kwargs), {"approved": "on"})
        assert response.status_code == 302, response.status_code
        drop_flash_messages(bob)
        durations.append(time.perf_counter() - started)

    wall = timed_loop(one, n, warmup, steps, durations)
    return {
        "variant": variant,
        "flow": HELLO_FLOWS[variant],
        "wall_s": round(wall, 3),
        "processes_per_s": round(n / wall, 2),
        "requests_per_process": 3,
        **steps.figures(n),
        "sql_per_request_step": steps.per_step(n),
        "latency_per_process": latency_summary_ms(durations),
        "warmup_processes": warmup,
        "checks": check_hello_processes(flow_class, n + warmup, n + warmup),
        "notes": HELLO_NOTES[variant] + "; URLs /flows/<label>/start/, .../approve/<task>/assign/, "
        ".../approve/<task>/ as in DESIGN §6",
    }


def hello_floor(n, warmup=5, **_):
    """hello_http's three POSTs by the same clients to a view with no engine: the framework's share.

    Each request loads the session and the user, the start and claim requests check
    a permission (Django's two statements), and all three redirect; nothing is
    written. The peer and this library both pay this on every hello_http process.
    """
    make_users()
    alice = logged_in_client("alice")
    bob = logged_in_client("bob")
    steps = Steps("start_post", "assign_post", "approve_post")
    durations = []

    def one(i):
        started = time.perf_counter()
        for client, step, data in ((alice, "start", {"text": f"Hello, world #{i}"}), (bob, "assign", {}),
                                   (bob, "approve", {"approved": "on"})):
            with steps[f"{step}_post"].installed():
                response = client.post(f"/bench-floor/{step}/", data)
            assert response["Location"] == "/flows/", response.status_code
        durations.append(time.perf_counter() - started)

    wall = timed_loop(one, n, warmup, steps, durations)
    return {
        "variant": "floor",
        "wall_s": round(wall, 3),
        "processes_per_s": round(n / wall, 2),
        "requests_per_process": 3,
        **steps.figures(n),
        "sql_per_request_step": steps.per_step(n),
        "latency_per_process": latency_summary_ms(durations),
        "warmup_processes": warmup,
        "checks": {"ok": True, "redirects": 3 * (n + warmup)},
        "notes": "no engine: the same clients POST /bench-floor/{start,assign,approve}/ (login required, "
        "user.has_perm on two of them, a redirect); the lower bound of hello_http's time per process",
    }


# -- 2. hello_api --------------------------------------------------------------------


def hello_api(n, warmup=5, variant="handler", **_):
    """``start_api.run(text=...)``, one task lookup, then assign and complete in two locked steps."""
    from viewflow.models import Task

    flow_class = {"handler": "HelloHandlerFlow", "job": "HelloJobFlow"}[variant]
    from bench.benchflows import flows

    flow_class = getattr(flows, flow_class)
    _, bob = make_users()
    approve = flow_class.approve
    steps = Steps("start", "task_lookup", "assign", "complete")
    durations = []

    def one(i):
        started = time.perf_counter()
        with steps["start"].installed():
            process = flow_class.start_api.run(text=f"Hello, world #{i}")
        with steps["task_lookup"].installed():
            task = Task.objects.get(process=process, flow_task=approve)
        with steps["assign"].installed():
            with task.activation() as activation:
                activation.assign(bob)
        with steps["complete"].installed():
            with task.activation() as activation:
                activation.process.approved = True
                activation.process.save()
                activation.done()
        durations.append(time.perf_counter() - started)

    wall = timed_loop(one, n, warmup, steps, durations)
    return {
        "variant": variant,
        "flow": f"bench.benchflows.flows.{flow_class.__name__}",
        "wall_s": round(wall, 3),
        "processes_per_s": round(n / wall, 2),
        **steps.figures(n),
        "sql_per_api_step": steps.per_step(n),
        "latency_per_process": latency_summary_ms(durations),
        "warmup_processes": warmup,
        "checks": check_hello_processes(flow_class, n + warmup, n + warmup),
        "notes": HELLO_NOTES[variant] + "; started with start_api = flow.StartFunction (the peer: StartHandle.run); "
        "complete = process.save() + activation.done() (the peer: start + save + execute)",
    }


# -- 3. split_join ------------------------------------------------------------------


def _histogram(values):
    out = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return dict(sorted(out.items()))


def check_parallel_processes(process_pks, branch_names):
    """Per process: DONE, one DONE join, one DONE end, every branch DONE once."""
    from viewflow.models import Process, Task

    statuses = dict(Process.objects.filter(pk__in=process_pks).values_list("pk", "status"))
    by_process = {pk: [] for pk in process_pks}
    for process_id, flow_task, status in Task.objects.filter(process_id__in=process_pks).values_list(
        "process_id", "flow_task", "status"
    ):
        by_process[process_id].append((flow_task.name, status))
    bad = {"not_done": [], "join_not_once": [], "end_not_once": [], "branch_not_done": []}
    join_counts, end_counts = [], []
    for pk, tasks in by_process.items():
        joins = [s for name, s in tasks if name == "join"]
        ends = [s for name, s in tasks if name == "end"]
        join_counts.append(len(joins))
        end_counts.append(len(ends))
        if statuses.get(pk) != "DONE":
            bad["not_done"].append(pk)
        if joins != ["DONE"]:
            bad["join_not_once"].append(pk)
        if ends != ["DONE"]:
            bad["end_not_once"].append(pk)
        if any([s for name, s in tasks if name == branch] != ["DONE"] for branch in branch_names):
            bad["branch_not_done"].append(pk)
    return {
        "processes": len(process_pks),
        "processes_done": sum(1 for pk in process_pks if statuses.get(pk) == "DONE"),
        "join_fired_exactly_once": not bad["join_not_once"],
        "end_reached_exactly_once": not bad["end_not_once"],
        "join_task_count_histogram": _histogram(join_counts),
        "end_task_count_histogram": _histogram(end_counts),
        "bad_processes": {k: v[:20] for k, v in bad.items() if v},
        "ok": not any(bad.values()),
    }


def split_join(n, warmup=5, **_):
    """``SplitJoinFlow.start.run()`` runs the whole process in one step: split, 10 handlers, join, end."""
    from bench.benchflows.flows import SplitJoinFlow

    counter = QueryCounter()
    durations, pks = [], []

    def one():
        started = time.perf_counter()
        with counter.installed():
            process = SplitJoinFlow.start.run()
        durations.append(time.perf_counter() - started)
        return process.pk

    for _ in range(warmup):
        one()
    counter.reset()
    durations.clear()
    started = time.perf_counter()
    for _ in range(n):
        pks.append(one())
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 3),
        "processes_per_s": round(n / wall, 2),
        **sql_figures(counter.snapshot(), n),
        "latency_per_process": latency_summary_ms(durations),
        "warmup_processes": warmup,
        "checks": check_parallel_processes(pks, [f"f{i:02d}" for i in range(1, 11)]),
        "notes": "branches are flow.Handler nodes run in the start step (the peer: synchronous flow.Function)",
    }


# -- 4. inbox -------------------------------------------------------------------------

INBOX_ASSIGNED_EVERY = 100  # every 100th task is claimed by bob (his inbox)
INBOX_CHUNK = 5000


def _clone(instance, **overrides):
    model = type(instance)
    values = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields if not f.primary_key}
    values.update(overrides)
    return model(**values)


def _shifted(value, new_created, old_created):
    return None if value is None else new_created + (value - old_created)


def _fill_inbox_bulk(n, template, bob):
    """Clone the rows the real start path wrote (process, its hello world row, the DONE
    start task, the NEW approve task, the link) ``n - 1`` times with ``bulk_create``,
    as the peer harness does. The §1 process model is multi-table, which
    ``bulk_create`` refuses: its own rows go in with one ``executemany``."""
    from django.db import connection, transaction
    from django.utils import timezone

    from helloworld.models import HelloWorldProcess
    from viewflow.models import Process, Task

    Link = Task.previous.through
    base_process = Process.objects.get(pk=template.pk)
    tasks = list(Task.objects.filter(process=template).order_by("pk"))
    links = list(Link.objects.filter(from_task__process=template))
    assert [t.status for t in tasks] == ["DONE", "NEW"], [t.status for t in tasks]
    assert len(links) == 1
    child_table = HelloWorldProcess._meta.db_table
    base = timezone.now() - timedelta(days=30)
    created_total = 1
    for chunk_start in range(1, n, INBOX_CHUNK):
        indexes = range(chunk_start, min(n, chunk_start + INBOX_CHUNK))
        with transaction.atomic():  # one commit per chunk: executemany alone would commit every row
            processes = [_clone(base_process, created=base + timedelta(seconds=i)) for i in indexes]
            Process.objects.bulk_create(processes, batch_size=1000)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f'INSERT INTO "{child_table}" ("process_ptr_id", "text", "approved") VALUES (%s, %s, %s)',
                    [(p.pk, f"Hello, world #{i}", False) for i, p in zip(indexes, processes)],
                )
            new_tasks = []
            for i, process in zip(indexes, processes):
                for task in tasks:
                    overrides = {
                        "process_id": process.pk,
                        "created": _shifted(task.created, process.created, base_process.created),
                        "started": _shifted(task.started, process.created, base_process.created),
                        "finished": _shifted(task.finished, process.created, base_process.created),
                    }
                    if task.status == "NEW" and i % INBOX_ASSIGNED_EVERY == INBOX_ASSIGNED_EVERY - 1:
                        overrides.update(status="ASSIGNED", owner_id=bob.pk, started=process.created)
                    new_tasks.append((i, task.pk, _clone(task, **overrides)))
            Task.objects.bulk_create([clone for _, _, clone in new_tasks], batch_size=1000)
            by_template = {(i, template_pk): clone.pk for i, template_pk, clone in new_tasks}
            Link.objects.bulk_create(
                [
                    Link(from_task_id=by_template[(i, link.from_task_id)], to_task_id=by_template[(i, link.to_task_id)])
                    for i in indexes
                    for link in links
                ],
                batch_size=5000,
            )
        created_total += len(processes)
        if chunk_start % 20000 == 1:
            log(f"filled {created_total} processes, rss {current_rss_mib()} MiB")
    return created_total


def _fill_inbox_sql(n, template, bob):
    """The same rows as :func:`_fill_inbox_bulk`, written by the database itself with
    ``INSERT ... SELECT`` over a number series and explicit primary keys (used for
    1,000,000 processes, where cloning in Python would take minutes)."""
    from django.db import connection

    from helloworld.models import HelloWorldProcess
    from viewflow.models import Process, Task

    Link = Task.previous.through
    tasks = list(Task.objects.filter(process=template).order_by("pk"))
    assert [t.status for t in tasks] == ["DONE", "NEW"]
    start_task, approve_task = tasks
    pg = connection.vendor == "postgresql"
    p_table, c_table = Process._meta.db_table, HelloWorldProcess._meta.db_table
    t_table, l_table = Task._meta.db_table, Link._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT MAX("id") FROM "{p_table}"')
        p0 = cursor.fetchone()[0]
        cursor.execute(f'SELECT MAX("id") FROM "{t_table}"')
        t0 = cursor.fetchone()[0]
        cursor.execute(f'SELECT MAX("id") FROM "{l_table}"')
        l0 = cursor.fetchone()[0]
    if pg:
        series = "generate_series(1, %s) AS g(x)"
        seconds = "(%s::timestamptz - interval '30 days' + x * interval '1 second')"
        text = "'Hello, world #' || x"
        prefix = ""
    else:
        prefix = "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < %s) "
        series = "g"
        seconds = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '-30 days', '+' || x || ' seconds')"
        text = "'Hello, world #' || x"
    count = n - 1
    now = template.created.isoformat() if pg else template.created.strftime("%Y-%m-%d %H:%M:%S.%f")
    assigned = f"(x %% {INBOX_ASSIGNED_EVERY} = {INBOX_ASSIGNED_EVERY - 1})"

    def run(sql, params):
        with connection.cursor() as cursor:
            if pg:
                cursor.execute(sql.replace("{series}", series), params)
            else:
                cursor.execute(prefix + sql.replace("{series}", series), [count, *params])

    def series_params(*params):
        return [*params, count] if pg else list(params)  # the series comes last (FROM), or first (WITH)

    run(
        f'INSERT INTO "{p_table}" ("id", "flow_class", "status", "created", "finished") '
        f'SELECT {p0} + x, %s, %s, {seconds}, NULL FROM {{series}}',
        series_params(Process._meta.get_field("flow_class").get_prep_value(template.flow_class), template.status, now),
    )
    run(
        f'INSERT INTO "{c_table}" ("process_ptr_id", "text", "approved") SELECT {p0} + x, {text}, %s FROM {{series}}',
        series_params(False),
    )
    columns = '"id", "process_id", "flow_task", "flow_task_type", "status", "created", "started", "finished", ' \
        '"token", "owner_id", "owner_permission", "external_task_id", "data", "comments", "error"'
    for k, task in enumerate(tasks):
        node = Task._meta.get_field("flow_task").get_prep_value(task.flow_task)
        if task is approve_task:
            status = f"CASE WHEN {assigned} THEN 'ASSIGNED' ELSE 'NEW' END"
            owner = f"CASE WHEN {assigned} THEN {int(bob.pk)} ELSE NULL END"
            started = f"CASE WHEN {assigned} THEN {seconds} ELSE NULL END"
            finished = "NULL"
            extra = [now]
        else:
            status, owner, started, finished = "'DONE'", "NULL", seconds, seconds
            extra = [now, now]
        run(
            f'INSERT INTO "{t_table}" ({columns}) SELECT {t0} + 2 * x - 1 + {k}, {p0} + x, %s, %s, {status}, '
            f'{seconds}, {started}, {finished}, %s, {owner}, %s, %s, %s, %s, %s FROM {{series}}',
            series_params(
                node, task.flow_task_type, now, *extra, task.token, task.owner_permission, task.external_task_id,
                "{}", task.comments, task.error,
            ),
        )
    run(
        f'INSERT INTO "{l_table}" ("id", "from_task_id", "to_task_id") SELECT {l0} + x, {t0} + 2 * x, {t0} + 2 * x - 1 '
        f'FROM {{series}}',
        series_params(),
    )
    if pg:
        with connection.cursor() as cursor:
            for table, column in ((p_table, "id"), (t_table, "id"), (l_table, "id")):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                    f'(SELECT MAX("{column}") FROM "{table}"))'
                )
    return n


def _list_view(kind):
    from viewflow.site import viewsite
    from viewflow.views import lists

    view_class = lists.QueueView if kind == "queue" else lists.InboxView
    return view_class, {"site": viewsite}


def _first_page_through_view(view_class, view_kwargs, url, user):
    """The data part of the list page: the view's get_queryset(), its paginator and first page."""
    from django.test import RequestFactory

    request = RequestFactory().get(url)
    request.user = user
    view = view_class(**view_kwargs)
    view.setup(request)
    queryset = view.get_queryset()
    paginator, page, object_list, _ = view.paginate_queryset(queryset, view.get_paginate_by(queryset))
    return list(object_list), paginator.count


def _classify_list_sql(sql):
    upper = sql.upper()
    if re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", upper):
        return "tx"
    main_table = re.search(r'\b(?:FROM|INTO|UPDATE)\s+"?([A-Z_0-9]+)"?', upper)
    main_table = main_table.group(1) if main_table else ""
    if main_table == "DJANGO_SESSION":
        return "session"
    if main_table == "AUTH_USER":
        return "user"
    if main_table.startswith("AUTH_") or main_table == "DJANGO_CONTENT_TYPE":
        return "permissions"
    if "COUNT(" in upper:
        return "count"
    if main_table == "VIEWFLOW_TASK" and "LIMIT" in upper:
        return "page_rows"
    return "other"


def _median_by_statement(samples):
    kinds = sorted({kind for sample in samples for kind in sample})
    return {kind: round(statistics.median(s.get(kind, 0.0) for s in samples), 3) for kind in kinds}


def _bucket(counter):
    bucket = {}
    for _, ms, sql in counter.statements:
        kind = _classify_list_sql(sql)
        bucket[kind] = bucket.get(kind, 0.0) + ms
    return bucket


HTTP_BUDGET_S = 20


def _time_list(kind, url, bob, client, reps):
    """Medians of one list page: the view's data part for a fresh user object, and the full GET."""
    from django.contrib.auth.models import User

    view_class, view_kwargs = _list_view(kind)
    data_totals, data_samples, first_page = [], [], []
    statements = []
    rows = count = None
    for rep in range(reps + 1):
        user = User.objects.get(pk=bob.pk)  # fresh user: no permission cache
        counter = QueryCounter(keep_sql=True)
        started = time.perf_counter()
        with counter.installed():
            rows, count = _first_page_through_view(view_class, view_kwargs, url, user)
        elapsed = time.perf_counter() - started
        if rep == 0:
            statements = [(_classify_list_sql(sql), sql) for _, _, sql in counter.statements]
            continue
        bucket = _bucket(counter)
        data_totals.append(elapsed)
        data_samples.append(bucket)
        first_page.append(bucket.get("count", 0.0) + bucket.get("page_rows", 0.0))

    http_times, http_samples, http_counts, http_statements = [], [], [], []
    response = client.get(url)  # warm-up
    assert response.status_code == 200, response.status_code
    budget_started = time.perf_counter()
    for rep in range(reps):
        counter = QueryCounter(keep_sql=True)
        started = time.perf_counter()
        with counter.installed():
            response = client.get(url)
        http_times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        http_samples.append(_bucket(counter))
        http_counts.append(counter.total)
        if rep == 0:
            http_statements = [_classify_list_sql(sql) for _, _, sql in counter.statements]
        if rep >= 2 and time.perf_counter() - budget_started > HTTP_BUDGET_S:
            break
    return {
        "rows_on_first_page": len(rows),
        "total_rows": count,
        "first_page_sql_ms_median": round(statistics.median(first_page), 3),
        "view_data_ms_median": round(statistics.median(data_totals) * 1000, 3),
        "view_sql_ms_median_by_statement": _median_by_statement(data_samples),
        "view_sql_statements": [kind_ for kind_, _ in statements],
        "data_reps": reps,
        "http_get_ms_median": round(statistics.median(http_times) * 1000, 2),
        "http_get_ms_min": round(min(http_times) * 1000, 2),
        "http_get_reps": len(http_times),
        "http_sql_per_request": round(statistics.median(http_counts), 1),
        "http_sql_ms_median_by_statement": _median_by_statement(http_samples),
        "http_sql_statements": http_statements,
        "http_response_kib": round(len(response.content) / 1024, 1),
        "sample_sql": {k: sql[:700] for k, sql in statements},
    }


def inbox(n, reps=20, fill="bulk", **_):
    """Fill n hello world processes (one open approve task each), then time bob's queue and inbox."""
    from django.urls import reverse

    from helloworld.flows import HelloWorldFlow
    from viewflow.models import Process, Task
    from viewflow.views.urls import flow_url

    _, bob_user = make_users()
    alice = logged_in_client("alice")
    bob = logged_in_client("bob")
    response = alice.post(flow_url(HelloWorldFlow, "start"), {"text": "template"})
    assert response.status_code == 302
    template = HelloWorldFlow.process_cls.objects.get()

    started = time.perf_counter()
    filled = (_fill_inbox_sql if fill == "sql" else _fill_inbox_bulk)(n, template, bob_user)
    fill_wall = time.perf_counter() - started
    started = time.perf_counter()
    analyze_database()
    analyze_s = time.perf_counter() - started
    log(f"filled {filled} processes in {fill_wall:.1f}s ({fill})")

    queue_ = _time_list("queue", reverse("viewflow:queue"), bob_user, bob, reps)
    log(f"queue: first page sql {queue_['first_page_sql_ms_median']} ms, http {queue_['http_get_ms_median']} ms")
    inbox_ = _time_list("inbox", reverse("viewflow:inbox"), bob_user, bob, reps)
    log(f"inbox: first page sql {inbox_['first_page_sql_ms_median']} ms, http {inbox_['http_get_ms_median']} ms")

    api_inbox = _time_api_list("/api/tasks/inbox/", bob, reps)
    log(f"api inbox: first page sql {api_inbox['first_page_sql_ms_median']} ms, "
        f"http {api_inbox['http_get_ms_median']} ms")

    open_tasks = Task.objects.filter(flow_task=HelloWorldFlow.approve).exclude(status="DONE").count()
    processes = Process.objects.count()
    return {
        "wall_s": round(fill_wall, 3),
        "processes_per_s": round(filled / fill_wall, 1),
        "fill_method": "bulk_create clones of the rows the real HTTP start path wrote"
        if fill == "bulk"
        else "INSERT ... SELECT over a number series (explicit keys) copying the rows the real HTTP start path wrote",
        "sql_queries_per_process": None,
        "analyze_s": round(analyze_s, 3),
        "processes": processes,
        "open_human_tasks": open_tasks,
        "tasks_assigned_to_user": Task.objects.filter(owner=bob_user, status="ASSIGNED").count(),
        "queue": queue_,
        "inbox": inbox_,
        "api_inbox": api_inbox,
        "checks": {"ok": processes == n and open_tasks == n, "processes": processes, "open_human_tasks": open_tasks},
        "notes": "pages /flows/queue/ and /flows/inbox/ (site-wide, DESIGN §6); the view's data part is "
        "QueueView/InboxView get_queryset() + paginate_queryset() for a fresh user object",
    }


def _time_api_list(url, client, reps):
    """Medians of one page of the REST API (``viewflow.contrib.rest``), GET through the logged-in client.

    "first page SQL" is the time of the statement that reads the page's rows (the
    cursor page counts nothing); the other statements are the session's and the user's.
    """
    response = client.get(url)  # warm-up
    assert response.status_code == 200, response.status_code
    http_times, first_page, sql_times, counts, kinds = [], [], [], [], []
    for rep in range(reps):
        counter = QueryCounter(keep_sql=True)
        started = time.perf_counter()
        with counter.installed():
            response = client.get(url)
        http_times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        bucket = _bucket(counter)
        first_page.append(bucket.get("page_rows", 0.0))
        sql_times.append(sum(bucket.values()))
        counts.append(counter.total)
        if rep == 0:
            kinds = [_classify_list_sql(sql) for _, _, sql in counter.statements]
    return {
        "rows_on_first_page": len(response.json()["results"]),
        "total_rows": None,
        "first_page_sql_ms_median": round(statistics.median(first_page), 3),
        "sql_ms_median": round(statistics.median(sql_times), 3),
        "view_data_ms_median": None,
        "http_get_ms_median": round(statistics.median(http_times) * 1000, 2),
        "http_get_ms_min": round(min(http_times) * 1000, 2),
        "http_get_reps": len(http_times),
        "http_sql_per_request": round(statistics.median(counts), 1),
        "http_sql_statements": kinds,
        "http_response_kib": round(len(response.content) / 1024, 1),
    }


# -- 5. concurrent_join ----------------------------------------------------------------

LOCK_VARIANTS = {
    "select_for_update_lock": (
        "lock.select_for_update_lock (SELECT ... FOR UPDATE, waits for the row lock; the default)"
    ),
    "cache_lock": "lock.cache_lock (a key in Django's cache, here LocMemCache shared by the threads)",
    "no_lock": "lock.no_lock (explicit opt-out; unsafe with a Join)",
}


def concurrent_join(n, threads=8, variant="select_for_update_lock", max_attempts=20, **_):
    """Start n processes, then ``threads`` workers (one connection each) complete their 10 branches."""
    from django.db import DatabaseError, connection, connections

    from bench.benchflows.flows import ConcurrentJoinFlow
    from viewflow import lock
    from viewflow.exceptions import FlowLockFailed
    from viewflow.flow import View
    from viewflow.models import Task

    if connection.vendor != "postgresql":
        return {"skipped": True, "reason": "PostgreSQL only"}
    ConcurrentJoinFlow.lock_impl = {
        "select_for_update_lock": lock.select_for_update_lock,
        "cache_lock": lock.cache_lock,
        "no_lock": lock.no_lock,
    }[variant]
    _, bob = make_users()

    started = time.perf_counter()
    process_pks = [ConcurrentJoinFlow.start.run().pk for _ in range(n)]
    start_wall = time.perf_counter() - started
    work = list(
        Task.objects.filter(process_id__in=process_pks, status="NEW")
        .order_by("process_id", "pk")
        .values_list("pk", flat=True)
    )
    assert len(work) == n * 10, len(work)
    connection.close()

    todo = queue.Queue()
    for pk in work:
        todo.put((pk, 1))
    state_lock = threading.Lock()
    state = {"remaining": len(work), "completed": 0, "gave_up": 0}
    events = {"lock_failed": 0, "deadlock": 0, "serialization": 0, "other_db_error": 0, "other_error": 0}
    error_samples = []
    counter = QueryCounter()
    per_task = []

    def complete(task_pk):
        task = Task.objects.get(pk=task_pk)
        node = task.flow_task
        if isinstance(node, View):
            with task.activation() as activation:
                activation.assign(bob)
                activation.done()
        else:
            node.run(task)

    def record(kind, exc):
        with state_lock:
            events[kind] += 1
            if len(error_samples) < 10:
                error_samples.append(f"{kind}: {type(exc).__name__}: {str(exc).strip()[:200]}")

    def worker():
        with counter.installed(connection):
            while True:
                with state_lock:
                    if state["remaining"] == 0:
                        break
                try:
                    pk, attempt = todo.get(timeout=0.05)
                except queue.Empty:
                    continue
                t0 = time.perf_counter()
                try:
                    complete(pk)
                except FlowLockFailed as exc:
                    record("lock_failed", exc)
                    retry = True
                except DatabaseError as exc:
                    text = f"{type(exc.__cause__).__name__} {exc}".lower()
                    kind = "deadlock" if "deadlock" in text else "serialization" if (
                        "serializ" in text or "could not obtain lock" in text) else "other_db_error"
                    record(kind, exc)
                    retry = True
                except Exception as exc:  # noqa: BLE001 - reported, not hidden
                    record("other_error", exc)
                    retry = False
                else:
                    retry = None
                    with state_lock:
                        state["completed"] += 1
                        state["remaining"] -= 1
                        per_task.append(time.perf_counter() - t0)
                if retry is not None:
                    if retry and attempt < max_attempts:
                        todo.put((pk, attempt + 1))
                    else:
                        with state_lock:
                            state["gave_up"] += 1
                            state["remaining"] -= 1
        connections.close_all()

    pool = [threading.Thread(target=worker, name=f"w{i}") for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started

    branches = [f"h{i:02d}" for i in range(1, 6)] + [f"a{i:02d}" for i in range(6, 11)]
    checks = check_parallel_processes(process_pks, branches)
    checks["ok"] = checks["ok"] and state["gave_up"] == 0
    return {
        "variant": variant,
        "expected_to_fail": variant == "no_lock",
        "lock_impl": LOCK_VARIANTS[variant],
        "threads": threads,
        "wall_s": round(wall, 3),
        "processes_per_s": round(checks["processes_done"] / wall, 2),
        "tasks_completed": state["completed"],
        "tasks_per_s": round(state["completed"] / wall, 2),
        "tasks_given_up": state["gave_up"],
        "start_phase_s": round(start_wall, 3),
        "events": events,
        "failed_sql_statements": dict(counter.errors),
        "error_samples": error_samples,
        **sql_figures(counter.snapshot(), n),
        "latency_per_task_completion": latency_summary_ms(per_task),
        "checks": checks,
        "notes": "human branches: assign + done in one task.activation() step; code branches: "
        "ConcurrentJoinFlow.a0N.run(task) (flow.Function)",
    }


# -- 6. subprocess (ours only: the peer harness has no such scenario) ----------------------


def subprocess(n, warmup=3, **_):
    """A shipment starts 10 parcels (child processes) in its start step; each parcel is then done by code.

    The figures are per shipment (11 processes: the parent and its 10 children),
    with the statements of the start step (parent and children) and of the
    children's last steps (the tenth moves the parent on) counted apart.
    """
    from bench.benchflows.flows import ParcelFlow, ShipmentFlow
    from viewflow.models import Process, Task

    steps = Steps("start", "finish")
    durations = []

    def one(i):
        started = time.perf_counter()
        with steps["start"].installed():
            shipment = ShipmentFlow.start.run()
        waiting = list(
            Task.objects.filter(process__parent_task__process_id=shipment.pk, flow_task=ParcelFlow.deliver)
            .order_by("pk")
        )
        with steps["finish"].installed():
            for task in waiting:
                ParcelFlow.deliver.run(task)
        durations.append(time.perf_counter() - started)

    wall = timed_loop(one, n, warmup, steps, durations)
    shipments = Process.objects.filter(flow_class=ShipmentFlow)
    parcels = Process.objects.filter(flow_class=ParcelFlow)
    done_steps = Task.objects.filter(flow_task=ShipmentFlow.done).values("process_id")
    from django.db.models import Count

    twice = done_steps.annotate(k=Count("pk")).filter(k__gt=1).count()
    expected = n + warmup
    checks = {
        "shipments_done": shipments.filter(status="DONE").count(),
        "shipments_expected": expected,
        "parcels_done": parcels.filter(status="DONE").count(),
        "parcels_expected": expected * 10,
        "shipments_moved_on_twice": twice,
    }
    checks["ok"] = (
        checks["shipments_done"] == expected and checks["parcels_done"] == expected * 10 and twice == 0
    )
    return {
        "wall_s": round(wall, 3),
        "processes_per_s": round(n * 11 / wall, 2),
        "shipments_per_s": round(n / wall, 2),
        **sql_figures(steps.totals(), n),
        "sql_per_step": {
            "start_with_10_children": steps.per_step(n)["start"],
            "ten_children_finishing": steps.per_step(n)["finish"],
        },
        "latency_per_process": latency_summary_ms(durations),  # per shipment (a parent and its 10 children)
        "warmup_processes": warmup,
        "checks": checks,
        "notes": "a parent with 10 children; processes_per_s counts the parent and its children (11 per shipment)",
    }


SCENARIOS = {
    "hello_http": hello_http,
    "hello_api": hello_api,
    "split_join": split_join,
    "inbox": inbox,
    "concurrent_join": concurrent_join,
    "subprocess": subprocess,
}
