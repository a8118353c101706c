"""The KPI API's scenarios of `tests/indicators/integration`, run offline on the in-memory fakes
(`unit/conftest.py`): the same bodies, so a rule the API shows is checked in milliseconds here and
through the real broker and database there."""

import tests.indicators.integration.test_kpi_api as kpi_api
import tests.indicators.integration.test_kpis_through_kafka as through_kafka
import tests.indicators.integration.test_order_and_reclassification as order


class TestDisputeRulesOnFakes(through_kafka.TestDisputeRulesThroughKafka):
    """Disputes raise disputed outstanding; resolving, disassociating and paying lower it."""


class TestOrderAndReclassificationOnFakes(order.TestOrderAndReclassification):
    """Redeliveries, reorderings and a status reclassified end equal to a recompute."""


class TestKpiApiOnFakes(kpi_api.TestKpiApi):
    """History, series, explanations, group view, reporting currency; tenants apart; clear 4xx."""
