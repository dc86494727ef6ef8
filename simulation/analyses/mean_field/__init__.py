"""The mean field of the data-sharing model (docs/ODD.md section 6, docs/game.md), in three parts:
:mod:`.mixing` measures who meets whom on the scenario's networks, :mod:`.game` is the model reduced
to representative agents as a payoff function (the same roles' rules and countermeasure objects), and
:mod:`.path` steps it month by month to predict the model's state at its horizon."""

from simulation.analyses.mean_field.game import (
                                                 MeanFieldGame,
                                                 MeanFieldState,
                                                 complete_graph_game,
                                                 long_run_quality,
                                                 scenario_game,
)
from simulation.analyses.mean_field.mixing import (
                                                 PATHS,
                                                 AgentExposure,
                                                 Mixing,
                                                 measure_mixing,
)
from simulation.analyses.mean_field.path import (
                                                 MeanFieldPath,
                                                 mean_field_path,
                                                 representative_agents,
                                                 scenario_start,
)

__all__ = ["PATHS", "AgentExposure", "MeanFieldGame", "MeanFieldPath", "MeanFieldState", "Mixing",
           "complete_graph_game", "long_run_quality", "measure_mixing", "mean_field_path", "representative_agents",
           "scenario_game", "scenario_start"]
