"""The rules of the dunning handlers, on fakes: the very bodies of the integration tests of the agenda,
specific actions, pauses and resumptions, the scheduler's grouping and proof, and scenarios over HTTP,
run against `create_app(adapters=fakes)` (the `dunning` fixture of this folder). What only the real
database and broker show (conflicts between processes, redelivery, indexes) stays in integration/."""

from tests.dunning.integration import test_agenda_and_actions as agenda
from tests.dunning.integration import test_pause_and_resume as pause
from tests.dunning.integration import test_scenarios_api as scenarios
from tests.dunning.integration import test_scheduler as scheduler


class TestAgendaSteps(agenda.TestAgendaSteps):
    pass


class TestSpecificActionsOnTheirDate(agenda.TestSpecificActionsOnTheirDate):
    pass


class TestFollowUpStopsRemindersUntilResolved(pause.TestFollowUpStopsRemindersUntilResolved):
    pass


class TestScenarioCrud(scenarios.TestScenarioCrud):
    pass


class TestDryRun(scenarios.TestDryRun):
    pass


class TestGrouping(scheduler.TestGrouping):
    pass


class TestSuppressionWithProof(scheduler.TestSuppressionWithProof):
    pass


class TestExactlyOnce(scheduler.TestExactlyOnce):
    """The crash mid-pass and the item changed after the due query; two runners racing need the database."""

    test_two_runners_at_once_send_each_step_once = None  # type: ignore[assignment]
