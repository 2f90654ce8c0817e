/**
 * Ferry's jobs on Kubernetes: the nightly batch predictions and the retraining (CronJobs), and the
 * batch workers of a distributed job (a Job with parallelism), all with the real CLI commands.
 */
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { DeployParams } from '../../deploy-types.js';
import { objectLabels } from './manifest.js';
import {
  ARTIFACTS_PATH,
  artifactsClaim,
  configMapName,
  containerSecurityContext,
  podSecurityContext,
  resources,
  scratchMounts,
  scratchVolumes,
  secretEnv,
  shutdownTiming,
} from './serving-pod.js';

/** `ferry retrain` exit codes a retry cannot change (src/cli/commands/retrain.ts, src/cli/output.ts). */
export const RETRAIN_REFUSED_EXIT = 3;
export const RETRAIN_BUSY_EXIT = 4;

function jobContainer(
  params: DeployParams,
  name: string,
  args: string[],
  writesArtifacts: boolean,
): IContainer {
  return {
    name,
    image: params.image,
    imagePullPolicy: 'IfNotPresent',
    args,
    envFrom: [{ configMapRef: { name: configMapName(params) } }],
    env: secretEnv(params),
    resources: resources(params.cpu, params.memory),
    securityContext: containerSecurityContext(),
    volumeMounts: [
      ...scratchMounts(),
      { name: 'artifacts', mountPath: ARTIFACTS_PATH, readOnly: !writesArtifacts },
    ],
  };
}

function jobSpec(
  params: DeployParams,
  component: string,
  container: IContainer,
  extra: Partial<IJobSpec> = {},
): IJobSpec {
  return {
    backoffLimit: 2,
    // Finished jobs go away after a day; the CronJobs also keep the last few.
    ttlSecondsAfterFinished: 86_400,
    ...extra,
    template: {
      metadata: { labels: objectLabels(params, component) },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        terminationGracePeriodSeconds: shutdownTiming(params).graceSeconds,
        securityContext: podSecurityContext(),
        containers: [container],
        volumes: [
          ...scratchVolumes(),
          {
            name: 'artifacts',
            persistentVolumeClaim: {
              claimName: artifactsClaim(params),
              readOnly: container.volumeMounts?.some((m) => m.name === 'artifacts' && m.readOnly) ?? true,
            },
          },
        ],
      },
    },
  };
}

function cronJob(
  params: DeployParams,
  name: string,
  component: string,
  schedule: string,
  job: IJobSpec,
): ICronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, labels: objectLabels(params, component) },
    spec: {
      schedule,
      timeZone: 'Etc/UTC',
      // A run still going when the next is due keeps going; the next one is skipped.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: { metadata: { labels: objectLabels(params, component) }, spec: job },
    },
  };
}

/**
 * Every night at 02:00 UTC: the model's predictions for every row of BATCH_INPUT_SQL (ConfigMap;
 * read from FERRY_DB) into the prediction store. The job id follows the model version and the
 * input, so a rerun after a failure resumes and a night with nothing new does nothing.
 */
export function batchCronJob(params: DeployParams): ICronJob {
  const ref = `${params.model.name}@${params.model.alias}`;
  const args = ['batch', 'predict', '--model', ref, '--input-sql', '$(BATCH_INPUT_SQL)', '--json'];
  return cronJob(
    params,
    `${params.appName}-batch`,
    'batch',
    '0 2 * * *',
    jobSpec(params, 'batch', jobContainer(params, 'batch', args, false), { activeDeadlineSeconds: 6 * 3600 }),
  );
}

/**
 * Every Monday at 03:00 UTC: retrain on the dataset plus labeled feedback, gate the candidate
 * against production on the same rows, and start a canary of it if it passes. A refusal (exit 3)
 * or a retraining already running (exit 4) fails the Job without the retries a crash gets.
 */
export function retrainCronJob(params: DeployParams): ICronJob {
  const args = [
    'retrain',
    '--model',
    params.model.name,
    '--policy',
    'canary',
    '--min-f1',
    '0.5',
    '--class-margin',
    '0.05',
    '--min-eval-rows',
    '100',
    '--json',
  ];
  return cronJob(
    params,
    `${params.appName}-retrain`,
    'retrain',
    '0 3 * * 1',
    jobSpec(params, 'retrain', jobContainer(params, 'retrain', args, true), {
      activeDeadlineSeconds: 4 * 3600,
      podFailurePolicy: {
        rules: [
          {
            action: 'FailJob',
            onExitCodes: {
              containerName: 'retrain',
              operator: 'In',
              values: [RETRAIN_REFUSED_EXIT, RETRAIN_BUSY_EXIT],
            },
          },
          // A node drained under the job is not the job's failure: run it again.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
        ],
      },
    }),
  );
}

/** Parallel `ferry batch worker` pods for a distributed job (`batch predict --queue`). */
const BATCH_WORKERS = 4;

export function batchWorkersJob(params: DeployParams): IJob {
  const args = ['batch', 'worker', '--queue', '$(BATCH_QUEUE_URL)', '--concurrency', '1'];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${params.appName}-batch-workers`, labels: objectLabels(params, 'batch-worker') },
    spec: jobSpec(params, 'batch-worker', jobContainer(params, 'worker', args, false), {
      parallelism: BATCH_WORKERS,
      // Workers take chunks until SIGTERM: the Job ends at its deadline or when deleted.
      activeDeadlineSeconds: 6 * 3600,
      backoffLimit: BATCH_WORKERS * 2,
    }),
  };
}
