#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { FERRY_VERSION } from '../core/version.js';
import { registerBatchCommand } from './commands/batch.js';
import { registerConfigCommand } from './commands/config.js';
import { registerDbCommand } from './commands/db.js';
import { registerDeployCommand } from './commands/deploy.js';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerExperimentsCommand } from './commands/experiments.js';
import { registerFeaturesCommand } from './commands/features.js';
import { registerFeedbackCommand } from './commands/feedback.js';
import { registerLearnCommand } from './commands/learn.js';
import { registerModelsCommand } from './commands/models.js';
import { registerMonitorCommand } from './commands/monitor.js';
import { addMonitorRunCommands, monitorCommandOf } from './commands/monitor-run.js';
import { registerOptimizeCommand } from './commands/optimize.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerRetrainCommand } from './commands/retrain.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStartCommand } from './commands/start.js';
import { registerStreamCommand } from './commands/stream.js';
import { registerTrainCommand } from './commands/train.js';
import { reportCommanderError, reportError, usageError, withRegistryLocation } from './output.js';

const program = new Command()
  .name('ferry')
  .description('Ferry: train, register and serve ML models from TypeScript')
  .version(FERRY_VERSION)
  .exitOverride()
  // Commander's own usage errors are printed by reportCommanderError, in Ferry's form; set before the
  // commands are added, so that they inherit it.
  .configureOutput({ outputError: () => {} })
  .showHelpAfterError(false);
registerStartCommand(program);
registerTrainCommand(program);
registerRetrainCommand(program);
registerEvaluateCommand(program);
registerPredictCommand(program);
registerModelsCommand(program);
registerOptimizeCommand(program);
registerServeCommand(program);
registerBatchCommand(program);
registerExperimentsCommand(program);
registerStreamCommand(program);
registerFeaturesCommand(program);
registerFeedbackCommand(program);
registerMonitorCommand(program);
registerLearnCommand(program);
registerDeployCommand(program);
addMonitorRunCommands(monitorCommandOf(program));
registerDbCommand(program);
registerConfigCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof InvalidArgumentError) {
    // Thrown by an argument parser inside an action: commander has printed nothing, so say it here.
    process.exitCode = reportError(usageError(e.message), process.argv.includes('--json'));
  } else if (e instanceof CommanderError) {
    process.exitCode = reportCommanderError(e, process.argv.includes('--json'));
  } else {
    process.exitCode = reportError(withRegistryLocation(e), process.argv.includes('--json'));
  }
}
