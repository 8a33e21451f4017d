"""Fewer index entries to write per step: the queue index holds NEW tasks only, the archive
index owned tasks only, and ``Task.previous`` gets a declared through model on the same table
whose ``from_task`` drops the index the unique (from_task, to_task) index already covers."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("viewflow", "0005_task_status_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="task", name="vf_task_queue"),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(condition=models.Q(status="NEW"), fields=["owner_permission", "created"], name="vf_task_queue"),
        ),
        migrations.RemoveIndex(model_name="task", name="vf_task_archive"),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(owner__isnull=False), fields=["owner", "status", "-finished"], name="vf_task_archive"
            ),
        ),
        # the table Django made for the many-to-many field becomes the declared TaskLink, as it is
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TaskLink",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("from_task", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="viewflow.task")),
                        ("to_task", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="viewflow.task")),
                    ],
                    options={
                        "verbose_name": "task link",
                        "verbose_name_plural": "task links",
                        "db_table": "viewflow_task_previous",
                        "unique_together": {("from_task", "to_task")},
                    },
                ),
                migrations.AlterField(
                    model_name="task",
                    name="previous",
                    field=models.ManyToManyField(
                        blank=True, related_name="leading", through="viewflow.TaskLink",
                        through_fields=("from_task", "to_task"), to="viewflow.task", verbose_name="previous",
                    ),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="tasklink",
            name="from_task",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="viewflow.task"),
        ),
    ]
