"""Background jobs of the order flow."""

from celery import shared_task

from viewflow.flow import flow_job


@shared_task
@flow_job
def reserve_stock(activation):
    """Reserve every line of the order in the (pretend) warehouse system."""
    activation.process.lines.update(reserved=True)
