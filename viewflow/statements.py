"""The statements every step sends, written once per model and database instead of compiled per call.

A step reads one task with its process and moves tasks and processes on with
conditional UPDATEs by primary key; a start step INSERTs the new process.
Through the ORM, building and compiling such a query costs more Python than
the database takes to answer it (about 0.3 ms against 0.05-0.1 ms on a 2-core
machine), and a locked step is only as short as its Python. Here their SQL is
written from the models' ``_meta`` on first use and kept; values go through
the fields' ``get_db_prep_save()`` /
``get_db_prep_value()`` and rows through the backend's and the fields'
converters, as the ORM does, and instances are built with ``Model.from_db()``.

Only SQLite and PostgreSQL take this path (the databases the test suite runs
on); on any other database the same functions run the equivalent querysets.
"""

from __future__ import annotations

import functools

from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connections, router
from django.db.models import signals

__all__ = [
    "takes_direct_path",
    "update_if_status",
    "insert_rows",
    "insert_values",
    "insert_process",
    "update_own_row",
    "select_task_and_process",
    "can_select_task_and_process",
    "join_and_open_branch",
    "permission_rows",
]

#: databases whose SQL dialect the statements below are written for
DIRECT_VENDORS = ("postgresql", "sqlite")


def update_if_status(model, using, pk, expected, values):
    """``UPDATE <model> SET <values> WHERE pk = <pk> AND status IN <expected>``; returns the rows updated."""
    if not takes_direct_path(using):
        return model._base_manager.using(using).filter(pk=pk, status__in=expected).update(**values)
    connection = connections[using]
    sql, fields = _update_statement(model, using, tuple(values), len(expected))
    status = model._meta.get_field("status")
    params = [_save_value(field, values[field.name], connection) for field in fields]
    params.append(model._meta.pk.get_db_prep_value(pk, connection))
    params.extend(status.get_db_prep_value(value, connection) for value in expected)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _save_value(field, value, connection):
    if field.remote_field is not None and hasattr(value, "prepare_database_save"):
        return value.prepare_database_save(field)  # a model instance for a foreign key: its key
    return field.get_db_prep_save(value, connection)


@functools.cache
def _update_statement(model, using, names, expected_count):
    quote = connections[using].ops.quote_name
    opts = model._meta
    fields = [opts.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    placeholders = ", ".join(["%s"] * expected_count)
    sql = (
        f"UPDATE {quote(opts.db_table)} SET {assignments} "
        f"WHERE {quote(opts.pk.column)} = %s AND {quote(opts.get_field('status').column)} IN ({placeholders})"
    )
    return sql, fields


def insert_rows(model, using, objs):
    """INSERT ``objs`` (new instances of ``model``, one table) in one statement; set their primary keys.

    What ``bulk_create()`` does for such a list: fields' ``pre_save()`` (``auto_now_add``),
    their values prepared for the database, the new keys read back with ``RETURNING``.
    """
    connection = connections[using]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    if (
        not takes_direct_path(using)
        or not connection.features.can_return_rows_from_bulk_insert
        or len(objs) * len(fields) > (connection.features.max_query_params or 999)
    ):
        model._base_manager.using(using).bulk_create(objs)
        return
    params = []
    for obj in objs:
        params.extend(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(_insert_statement(model, using, len(objs)), params)
        keys = [row[0] for row in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding, obj._state.db = False, using


def insert_values(model, using, names, rows):
    """INSERT ``rows`` (tuples of values of the fields ``names``) into ``model``'s table, in one statement.

    For rows nobody reads back, such as the links between tasks: no instances
    are built. Values go through the fields' ``get_db_prep_save()``.
    """
    if not rows:
        return
    connection = connections[using]
    fields = [model._meta.get_field(name) for name in names]
    if not takes_direct_path(using) or len(rows) * len(fields) > (connection.features.max_query_params or 999):
        attnames = [field.attname for field in fields]
        model._base_manager.using(using).bulk_create([model(**dict(zip(attnames, row))) for row in rows])
        return
    params = [field.get_db_prep_save(value, connection) for row in rows for field, value in zip(fields, row)]
    with connection.cursor() as cursor:
        cursor.execute(_insert_values_statement(model, using, tuple(names), len(rows)), params)


@functools.cache
def _insert_values_statement(model, using, names, rows):
    quote = connections[using].ops.quote_name
    opts = model._meta
    row = f"({', '.join(['%s'] * len(names))})"
    columns = ", ".join(quote(opts.get_field(name).column) for name in names)
    return f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES {', '.join([row] * rows)}"


@functools.cache
def _insert_statement(model, using, rows):
    quote = connections[using].ops.quote_name
    opts = model._meta
    columns = [quote(field.column) for field in opts.concrete_fields if not field.primary_key]
    row = f"({', '.join(['%s'] * len(columns))})"
    return (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(columns)}) VALUES {', '.join([row] * rows)} "
        f"RETURNING {quote(opts.pk.column)}"
    )


def insert_process(process, using):
    """INSERT a new process: its ``Process`` row (the key comes back), then its own model's row.

    What ``process.save()`` writes, without the ORM's compiling, for a process
    model that is ``Process`` or one table below it and that nobody hooks into:
    no ``save()`` override, no ``pre_save``/``post_save`` receiver. Any other
    model, and any other database, goes through ``process.save()``.
    """
    model = type(process)
    connection = connections[using]
    if not (_written_here(model, using) and connection.features.can_return_rows_from_bulk_insert):
        process.save(using=using)
        return
    base = model._meta.get_parent_list()[0] if model._meta.parents else model
    insert_rows(base, using, [process])  # sets the instance's key: for a child model, its link to the row
    if base is not model:
        setattr(process, base._meta.pk.attname, process.pk)  # and Process's own key, as save() does
        fields = model._meta.local_concrete_fields
        params = [field.get_db_prep_save(field.pre_save(process, True), connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(_insert_own_row_statement(model, using), params)


def update_own_row(process, using, names):
    """What ``process.save(using=using, update_fields=names)`` writes, for the fields of its model's own table.

    Returns False, having done nothing, where ``save()`` must do it: another
    database, a model someone hooks into (see :func:`insert_process`), deferred
    or generated fields, or fields of another table.
    """
    model = type(process)
    using = using or router.db_for_write(model, instance=process)
    opts = model._meta
    try:
        fields = [opts.get_field(name) for name in names]
    except FieldDoesNotExist:
        return False  # save() says what is wrong
    if not (
        _written_here(model, using)
        and all(field.model is model and not getattr(field, "generated", False) for field in fields)
        and not process.get_deferred_fields()
    ):
        return False
    process._prepare_related_fields_for_save(operation_name="save")
    if fields:
        connection = connections[using]
        params = [field.get_db_prep_save(field.pre_save(process, False), connection) for field in fields]
        params.append(opts.pk.get_db_prep_value(process.pk, connection))
        with connection.cursor() as cursor:
            cursor.execute(_update_own_row_statement(model, using, tuple(names)), params)
            if not cursor.rowcount:
                raise DatabaseError("Save with update_fields did not affect any rows.")
        process._state.db, process._state.adding = using, False
    return True


@functools.cache
def _update_own_row_statement(model, using, names):
    quote = connections[using].ops.quote_name
    opts = model._meta
    assignments = ", ".join(f"{quote(opts.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {quote(opts.db_table)} SET {assignments} WHERE {quote(opts.pk.column)} = %s"


def _written_here(model, using):
    """May this module write a process of ``model`` where ``save()`` would? Not if anyone hooks into its saving."""
    return (
        takes_direct_path(using)
        and _saved_plainly(model)
        and not signals.pre_save.has_listeners(model)
        and not signals.post_save.has_listeners(model)
    )


@functools.cache
def _saved_plainly(model):
    """Is ``model`` saved by ``Process.save()`` and Django's own steps, into at most two tables?"""
    from django.db.models import Model

    from .models import Process

    parents = model._meta.get_parent_list()
    if model._meta.proxy or parents not in ([], [Process]) or (not parents and model is not Process):
        return False
    if parents and model._meta.pk.remote_field is None:  # the key must be the link to Process's row
        return False
    return model.save is Process.save and all(
        getattr(model, name) is getattr(Model, name)
        for name in ("save_base", "_save_parents", "_save_table", "_do_insert", "_do_update")
    )


@functools.cache
def _insert_own_row_statement(model, using):
    quote = connections[using].ops.quote_name
    opts = model._meta
    columns = ", ".join(quote(field.column) for field in opts.local_concrete_fields)
    placeholders = ", ".join(["%s"] * len(opts.local_concrete_fields))
    return f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({placeholders})"


def join_and_open_branch(task_cls, using, process_pk, join_node, group, statuses, exclude_pks):
    """At most two tasks of the process: the Join's task of ``group`` (first) and one open branch of it.

    An open branch is a task whose token starts with ``group.``, whose status is
    one of ``statuses`` and whose key is not in ``exclude_pks``. For the databases
    of :func:`takes_direct_path` only.
    """
    connection = connections[using]
    sql, columns = _join_statement(task_cls, using, len(statuses), len(exclude_pks))
    token = task_cls._meta.get_field("token")
    opts = task_cls._meta
    params = [
        opts.get_field("process").target_field.get_db_prep_value(process_pk, connection),
        opts.get_field("flow_task").get_db_prep_value(join_node, connection),
        token.get_db_prep_value(group, connection),
        f"{connection.ops.prep_for_like_query(group + '.')}%",
        *statuses,
        *(opts.pk.get_db_prep_value(pk, connection) for pk in exclude_pks),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [task_cls.from_db(using, columns.names, columns.values(row, connection)) for row in rows]


@functools.cache
def _join_statement(task_cls, using, status_count, exclude_count):
    connection = connections[using]
    quote = connection.ops.quote_name
    opts = task_cls._meta
    fields = list(opts.concrete_fields)

    def column(name):
        return quote(opts.get_field(name).column)

    token, pk = column("token"), quote(opts.pk.column)
    statuses = ", ".join(["%s"] * status_count)
    branch = f"{token} {connection.operators['startswith'] % '%s'} AND {column('status')} IN ({statuses})"
    if exclude_count:
        branch += f" AND NOT ({pk} IN ({', '.join(['%s'] * exclude_count)}))"
    sql = (
        f"SELECT {', '.join(quote(field.column) for field in fields)} FROM {quote(opts.db_table)} "
        f"WHERE {column('process')} = %s AND (({column('flow_task')} = %s AND {token} = %s) OR ({branch})) "
        f"ORDER BY {token}, {pk} LIMIT 2"
    )
    return sql, _Columns(fields, using)


def permission_rows(user, using):
    """``(app_label, codename, own)`` for every permission ``user`` has, own or through a group, in one SELECT.

    What Django's ModelBackend reads with two ORM queries. None when this
    database or user model is not one the statement is written for.
    """
    sql = _permissions_statement(user._meta.concrete_model, using) if takes_direct_path(using) else None
    if sql is None:
        return None
    connection = connections[using]
    key = user._meta.pk.get_db_prep_value(user.pk, connection)  # a UUID key, say, as the database stores it
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, key])
        return cursor.fetchall()


@functools.cache
def _permissions_statement(user_model, using):
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    quote = connections[using].ops.quote_name
    user_permissions = user_model._meta.get_field("user_permissions")
    groups = user_model._meta.get_field("groups")
    if user_permissions.related_model is not Permission or groups.related_model is not Group:
        return None
    group_permissions = Group._meta.get_field("permissions")

    def m2m(field):  # (table, column of the owning side, column of the other side)
        through = field.remote_field.through._meta
        return (
            quote(through.db_table),
            quote(through.get_field(field.m2m_field_name()).column),
            quote(through.get_field(field.m2m_reverse_field_name()).column),
        )

    up_table, up_user, up_permission = m2m(user_permissions)
    ug_table, ug_user, ug_group = m2m(groups)
    gp_table, gp_group, gp_permission = m2m(group_permissions)
    permission, content_type = Permission._meta, ContentType._meta
    named = (
        f"SELECT ct.{quote('app_label')}, p.{quote('codename')}, %s FROM {quote(permission.db_table)} p "
        f"INNER JOIN {quote(content_type.db_table)} ct ON ct.{quote(content_type.pk.column)} = "
        f"p.{quote(permission.get_field('content_type').column)}"
    )
    own = (
        f"{named % '1'} INNER JOIN {up_table} up ON up.{up_permission} = p.{quote(permission.pk.column)} "
        f"WHERE up.{up_user} = %s"
    )
    grouped = (
        f"{named % '0'} INNER JOIN {gp_table} gp ON gp.{gp_permission} = p.{quote(permission.pk.column)} "
        f"INNER JOIN {ug_table} ug ON ug.{ug_group} = gp.{gp_group} WHERE ug.{ug_user} = %s"
    )
    return f"{own} UNION ALL {grouped}"


@functools.cache
def takes_direct_path(using):
    """Are the statements here written for this database's dialect?"""
    return connections[using].vendor in DIRECT_VENDORS


def can_select_task_and_process(task_cls, process_cls, using):
    """Can :func:`select_task_and_process` read this pair of models on this database?"""
    return takes_direct_path(using) and _select_statement(task_cls, process_cls, using, None) is not None


def select_task_and_process(task_cls, process_cls, using, task_pk, process_pk, lock=None):
    """Task ``task_pk`` of process ``process_pk``, its ``.process`` an instance of ``process_cls``.

    One SELECT joining the task to every table of the process model. ``lock``
    is None, or ``(nowait,)`` for ``FOR UPDATE OF`` the process's tables, then
    the task's. Raises ``task_cls.DoesNotExist`` when there is no such row.
    Only where :func:`can_select_task_and_process` says so.
    """
    connection = connections[using]
    sql, task_columns, process_columns = _select_statement(task_cls, process_cls, using, lock)
    params = [
        task_cls._meta.pk.get_db_prep_value(task_pk, connection),
        task_cls._meta.get_field("process").target_field.get_db_prep_value(process_pk, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise task_cls.DoesNotExist(f"{task_cls.__name__} matching query does not exist.")
    split = len(task_columns.names)
    task = task_cls.from_db(using, task_columns.names, task_columns.values(row[:split], connection))
    task.process = process_cls.from_db(using, process_columns.names, process_columns.values(row[split:], connection))
    return task


class _Columns:
    """The fields a statement selects, in column order, and how their values come back as the ORM gives them.

    Built once per statement: the converters (the backend's, then the field's)
    are looked up here, not for every row.
    """

    def __init__(self, fields, using):
        connection = connections[using]
        self.names = [field.attname for field in fields]
        self.converters = []  # (index, expression, converters) of the columns that have any
        for index, field in enumerate(fields):
            expression = field.get_col(field.model._meta.db_table)
            converters = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
            if converters:
                self.converters.append((index, expression, tuple(converters)))

    def values(self, row, connection):
        values = list(row)
        for index, expression, converters in self.converters:
            for converter in converters:
                values[index] = converter(values[index], expression, connection)
        return values


@functools.cache
def _select_statement(task_cls, process_cls, using, lock):
    """The joined SELECT of one task and its process, and the fields in column order."""
    connection = connections[using]
    quote = connection.ops.quote_name
    task_opts = task_cls._meta
    process_link = task_opts.get_field("process")
    # the process model's tables, from the base table the task points at down to the model's own
    base_model, model, tables = process_link.related_model, process_cls._meta.concrete_model, []
    while True:
        tables.insert(0, model._meta)
        if model is base_model:
            break
        model = next(parent for parent in model._meta.parents if issubclass(parent, base_model))
    task_fields = list(task_opts.concrete_fields)
    process_fields = list(tables[-1].concrete_fields)
    joined = {opts.db_table for opts in tables}
    if any(field.model._meta.db_table not in joined for field in process_fields):
        return None  # a second concrete parent besides the process: the ORM knows how to join it
    columns = ", ".join(
        f"{quote(field.model._meta.db_table)}.{quote(field.column)}" for field in task_fields + process_fields
    )
    task_table, base = quote(task_opts.db_table), tables[0]
    joins = [
        f"INNER JOIN {quote(base.db_table)} ON {quote(base.db_table)}.{quote(base.pk.column)} = "
        f"{task_table}.{quote(process_link.column)}"
    ]
    for parent, child in zip(tables, tables[1:]):
        link = quote(child.parents[parent.model].column)
        joins.append(
            f"INNER JOIN {quote(child.db_table)} ON {quote(child.db_table)}.{link} = "
            f"{quote(parent.db_table)}.{quote(parent.pk.column)}"
        )
    sql = (
        f"SELECT {columns} FROM {task_table} {' '.join(joins)} "
        f"WHERE {task_table}.{quote(task_opts.pk.column)} = %s AND {task_table}.{quote(process_link.column)} = %s"
    )
    if lock is not None and connection.features.has_select_for_update:
        (nowait,) = lock
        # the process's rows first: PostgreSQL locks in the order FOR UPDATE OF names the tables
        sql += f" FOR UPDATE OF {', '.join(quote(opts.db_table) for opts in [*tables, task_opts])}"
        sql += " NOWAIT" if nowait else ""
    return sql, _Columns(task_fields, using), _Columns(process_fields, using)
