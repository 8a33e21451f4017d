"""``Process.parent_task``: the Subprocess task that started a process (null for a top-level one)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("viewflow", "0006_fewer_index_writes"),
    ]

    operations = [
        migrations.AddField(
            model_name="process",
            name="parent_task",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subprocesses",
                to="viewflow.task",
                verbose_name="parent task",
            ),
        ),
    ]
