"""The wholesale order and its parcels: a parent that ships one parcel per warehouse as child processes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0002_weight_not_negative'),
        ('viewflow', '0006_fewer_index_writes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ParcelProcess',
            fields=[
                ('process_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to='viewflow.process')),
                ('warehouse', models.CharField(max_length=100)),
                ('tracking_number', models.CharField(blank=True, default='', max_length=64)),
            ],
            options={
                'verbose_name': 'parcel',
            },
            bases=('viewflow.process',),
        ),
        migrations.CreateModel(
            name='WholesaleProcess',
            fields=[
                ('process_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to='viewflow.process')),
                ('customer', models.CharField(max_length=150)),
                ('warehouses', models.CharField(help_text='Comma-separated, e.g. Berlin, Hamburg.', max_length=200)),
                ('shipped', models.BooleanField(default=False)),
            ],
            options={
                'verbose_name': 'wholesale order',
            },
            bases=('viewflow.process',),
        ),
    ]
