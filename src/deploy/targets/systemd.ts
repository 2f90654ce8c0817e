import type { DeployParams, DeployTargetSpec, RenderedFile } from '../deploy-types.js';

/**
 * The `systemd` target: Ferry on a VM, installed under /opt/ferry (the package with its `dist/`),
 * run by the system's Node. Three units share one hardened sandbox and one state directory: the
 * server, nightly batch predictions and a weekly retraining behind its gate, plus the environment
 * file's template. Runbook: docs/deployment/vm.md.
 */

/** Where the files the units run live; the defaults are the runbook's layout. */
export interface SystemdPaths {
  /** The Node.js binary (systemd checks that it exists and is executable). */
  node: string;
  /** Ferry's install directory: `dist/cli/index.js` inside it is the CLI. */
  prefix: string;
}

export const DEFAULT_SYSTEMD_PATHS: SystemdPaths = { node: '/usr/bin/node', prefix: '/opt/ferry' };

/**
 * Seconds systemd waits after SIGTERM before SIGKILL: the server's own drain time plus a margin, so
 * the server's timeout (exit 1, prediction log flushed) always fires before systemd kills it.
 */
function stopTimeoutSec(shutdownTimeoutMs: number): number {
  return Math.ceil(shutdownTimeoutMs / 1000) + 5;
}

/** A path or value systemd would split or expand: units only carry plain ones. */
const PLAIN = /^[A-Za-z0-9_@:/.,=+-]+$/;

function plain(value: string, what: string): string {
  if (!PLAIN.test(value))
    throw new Error(`systemd target: ${what} ${JSON.stringify(value)} is not a plain path`);
  return value;
}

/** Every unit's sandbox; one place, so the server and the jobs cannot drift apart. */
function sandbox(app: string): string[] {
  return [
    '# One unprivileged user, allocated by systemd; every Ferry unit names the same one, so they',
    '# share the state directory (/var/lib/private/<name>, seen as /var/lib/<name>).',
    'DynamicUser=yes',
    `User=${app}`,
    `StateDirectory=${app}`,
    'StateDirectoryMode=0750',
    `WorkingDirectory=/var/lib/${app}`,
    'UMask=0027',
    '# Sandbox (systemd.exec(5)); the only writable place is the state directory.',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'PrivateUsers=yes',
    'PrivateMounts=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    '# TCP to PostgreSQL, Redis and NATS; AF_UNIX for local sockets (a PostgreSQL socket, journald).',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged',
    '# A call outside the filter fails with EPERM instead of killing the process (the default),',
    "# so libuv's optional paths fall back as they do on older kernels.",
    'SystemCallErrorNumber=EPERM',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    '# No MemoryDenyWriteExecute=yes: V8 compiles JavaScript into memory that is written, then',
    '# executed (its JIT); with that setting Node aborts at start.',
  ];
}

function environment(p: DeployParams): string[] {
  return [
    `Environment=FERRY_HOME=/var/lib/${p.appName}`,
    'Environment=NODE_ENV=production',
    'Environment=FERRY_LOG_FORMAT=json',
    `Environment=FERRY_MODELS=${p.model.name}`,
    `Environment=FERRY_ALIASES=${p.model.alias}`,
    `Environment=PORT=${p.port}`,
    `Environment=FERRY_SHUTDOWN_TIMEOUT_MS=${p.shutdownTimeoutMs}`,
    '# Secrets and site settings; it overrides the lines above (a missing file is an error).',
    `EnvironmentFile=/etc/${p.appName}/${p.appName}.env`,
  ];
}

function header(p: DeployParams, what: string): string[] {
  return [
    `# ${what}`,
    `# Rendered by \`ferry deploy render systemd\` (Ferry ${p.ferryVersion}); runbook: docs/deployment/vm.md`,
  ];
}

function unitFile(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

export function renderSystemd(p: DeployParams, paths: SystemdPaths = DEFAULT_SYSTEMD_PATHS): RenderedFile[] {
  const node = plain(paths.node, 'the node path');
  const cli = `${plain(paths.prefix, 'the install prefix')}/dist/cli/index.js`;
  const app = p.appName;
  const ref = `${p.model.name}@${p.model.alias}`;
  const network = ['Wants=network-online.target', 'After=network-online.target'];

  const server = unitFile([
    ...header(p, `Ferry's model server: ${ref} over HTTP on port ${p.port}.`),
    '[Unit]',
    `Description=Ferry model server (${ref}, port ${p.port})`,
    ...network,
    '# Restarts: at most 5 in 5 minutes, then the unit stays failed (a crash loop is an incident).',
    'StartLimitIntervalSec=300',
    'StartLimitBurst=5',
    '',
    '[Service]',
    'Type=exec',
    ...environment(p),
    `ExecStart=${node} ${cli} serve`,
    '# SIGTERM: stop accepting, finish requests in flight, flush the prediction log, exit 0. With',
    '# --workers the primary relays it to its workers, so only the primary gets it (mixed); what is',
    '# left after TimeoutStopSec is killed.',
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    `TimeoutStopSec=${stopTimeoutSec(p.shutdownTimeoutMs)}`,
    'Restart=on-failure',
    'RestartSec=2',
    '# FERRY_MAX_CONNECTIONS is 10000 by default; the usual soft limit (1024) is below it.',
    'LimitNOFILE=65536',
    ...sandbox(app),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ]);

  const batch = unitFile([
    ...header(
      p,
      `Nightly batch predictions of ${ref} into the prediction store (started by ${app}-batch.timer).`,
    ),
    '[Unit]',
    `Description=Ferry batch predictions (${ref})`,
    ...network,
    '',
    '[Service]',
    'Type=oneshot',
    ...environment(p),
    '# The input file; FERRY_BATCH_INPUT in the environment file wins.',
    `Environment=FERRY_BATCH_INPUT=/var/lib/${app}/batch/input.csv`,
    '# The job id derives from the model version and the input, so a rerun after a failure resumes',
    '# and an unchanged input with an unchanged version is not predicted twice.',
    `ExecStart=${node} ${cli} batch predict --model ${ref} --input-loc \${FERRY_BATCH_INPUT} --json`,
    '# A bound, not an estimate: a stuck job fails and the next night resumes it.',
    'TimeoutStartSec=6h',
    '# The server on the same VM comes first.',
    'Nice=10',
    'CPUWeight=20',
    'IOWeight=20',
    ...sandbox(app),
  ]);

  const batchTimer = unitFile([
    ...header(p, `Starts ${app}-batch.service every night.`),
    '[Unit]',
    `Description=Nightly Ferry batch predictions (${ref})`,
    '',
    '[Timer]',
    'OnCalendar=*-*-* 02:00:00',
    '# Spread the start over half an hour (several VMs do not all hit the database at 02:00).',
    'RandomizedDelaySec=30min',
    '# A night missed while the VM was off runs at the next boot.',
    'Persistent=true',
    `Unit=${app}-batch.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
  ]);

  const retrain = unitFile([
    ...header(
      p,
      `Weekly retraining of ${p.model.name} behind its gate (started by ${app}-retrain.timer). A refusal exits 3 and leaves the unit failed, so \`systemctl --failed\` shows it; \`ferry retrain history\` says why.`,
    ),
    '[Unit]',
    `Description=Ferry retraining of ${p.model.name} (gated; policy staging)`,
    ...network,
    '',
    '[Service]',
    'Type=oneshot',
    ...environment(p),
    '# staging: a candidate that passes gets the staging alias; production moves only by a person',
    '# (`ferry models alias`) or a canary (`--policy canary`). FERRY_RETRAIN_* in the env file tune the gate.',
    `ExecStart=${node} ${cli} retrain --model ${p.model.name} --policy staging`,
    'TimeoutStartSec=2h',
    'Nice=10',
    'CPUWeight=20',
    'IOWeight=20',
    ...sandbox(app),
  ]);

  const retrainTimer = unitFile([
    ...header(p, `Starts ${app}-retrain.service every week.`),
    '[Unit]',
    `Description=Weekly Ferry retraining of ${p.model.name}`,
    '',
    '[Timer]',
    'OnCalendar=Mon *-*-* 03:00:00',
    'RandomizedDelaySec=30min',
    'Persistent=true',
    `Unit=${app}-retrain.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
  ]);

  const env = unitFile([
    `# /etc/${app}/${app}.env: read by ${app}.service, ${app}-batch.service and ${app}-retrain.service.`,
    `# Rendered by \`ferry deploy render systemd\` (Ferry ${p.ferryVersion}). A template: no real secrets here.`,
    `# Install it readable by root only (systemd reads it before it drops privileges):`,
    `#   sudo install -m 0600 -o root -g root ${app}.env.example /etc/${app}/${app}.env`,
    '# Every FERRY_* setting is described in the README (Settings) and shown by `ferry config`.',
    '',
    `# The registry database (secret; on Kubernetes the same value is Secret ${p.databaseSecret.name}, key ${p.databaseSecret.key}).`,
    'FERRY_DB=postgres://ferry:CHANGE_ME@db.example.internal:5432/ferry',
    `# Bearer token of the admin API (secret; on Kubernetes Secret ${p.tokenSecret.name}, key ${p.tokenSecret.key}).`,
    '# Make one with: openssl rand -hex 32',
    'FERRY_ADMIN_TOKEN=CHANGE_ME',
    '',
    '# Artifacts: the default is under the state directory. Several VMs serving one registry need one',
    '# shared directory here, plus a drop-in with ReadWritePaths= for it (docs/deployment/vm.md).',
    `#FERRY_ARTIFACTS=/var/lib/${app}/artifacts`,
    '',
    '# Training data of ferry-retrain.service (a path readable by the service, or an https URL).',
    '#DATASET_LOC=https://example.internal/datasets/projects.csv',
    '# Input of ferry-batch.service.',
    `#FERRY_BATCH_INPUT=/var/lib/${app}/batch/input.csv`,
    '',
    '# A cache shared by several servers; the default is one per process.',
    '#FERRY_CACHE=redis://redis.example.internal:6379',
  ]);

  return [
    { path: `${app}.service`, content: server },
    { path: `${app}-batch.service`, content: batch },
    { path: `${app}-batch.timer`, content: batchTimer },
    { path: `${app}-retrain.service`, content: retrain },
    { path: `${app}-retrain.timer`, content: retrainTimer },
    { path: `${app}.env.example`, content: env },
  ];
}

export const SYSTEMD_TARGET: DeployTargetSpec = {
  target: 'systemd',
  description:
    'a VM with systemd: the server, nightly batch predictions and weekly retraining as hardened units',
  defaultOut: 'deploy/systemd',
  committedOut: 'deploy/systemd',
  render: (params) => renderSystemd(params),
};
