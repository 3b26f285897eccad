import { describe, expect, it } from 'vitest';
import { HANDLER_ENV } from '../src/entrypoints/aws/handler-env.js';
import { InfraConfigError, loadInfraConfig, parseInfraConfig } from './lib/config.js';
import { synthTemplate } from './synth-for-tests.js';

// Long tasks and questions on AWS: how many continuations a task may take
// and how long a question waits reach the worker (and only the worker).

type Variables = Record<string, unknown>;

function environments(template: ReturnType<typeof synthTemplate>['template']): {
  worker: Variables;
  others: Variables[];
} {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));
  const variablesOf = (resource: (typeof functions)[number]): Variables =>
    resource.Properties?.Environment?.Variables ?? {};
  const worker = functions.find((resource) => resource.Properties?.PackageType === 'Image');
  if (!worker) throw new Error('no worker function');
  return {
    worker: variablesOf(worker),
    others: functions.filter((resource) => resource !== worker).map(variablesOf),
  };
}

function issueSources(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InfraConfigError) return error.issues.map((issue) => issue.source);
    throw error;
  }
  throw new Error('expected an InfraConfigError');
}

describe('continuation and question settings in the stack', () => {
  it('leaves both to the worker’s defaults unless configured (3 continuations, 10 minutes)', () => {
    const { worker } = environments(synthTemplate({ region: 'us-east-1' }).template);
    expect(worker[HANDLER_ENV.maxContinuations]).toBeUndefined();
    expect(worker[HANDLER_ENV.questionTimeoutMinutes]).toBeUndefined();
  });

  it('passes them to the worker, 0 continuations included, and to no other function', () => {
    const { worker, others } = environments(
      synthTemplate({
        region: 'us-east-1',
        worker: { maxContinuations: 0, questionTimeoutMinutes: 5 },
      }).template,
    );
    expect(worker).toMatchObject({ MAX_CONTINUATIONS: '0', QUESTION_TIMEOUT_MINUTES: '5' });
    // The ingress checks a press against the question's stored expiry; it needs no timeout.
    expect(others.length).toBeGreaterThan(0);
    for (const variables of others) {
      expect(variables[HANDLER_ENV.maxContinuations]).toBeUndefined();
      expect(variables[HANDLER_ENV.questionTimeoutMinutes]).toBeUndefined();
    }
  });

  it('reads them from INFRA_* variables', () => {
    const config = loadInfraConfig({
      env: { INFRA_MAX_CONTINUATIONS: '6', INFRA_QUESTION_TIMEOUT_MINUTES: '12' },
    });
    expect(config.worker).toMatchObject({ maxContinuations: 6, questionTimeoutMinutes: 12 });
  });

  it('refuses values the worker would refuse, or that outlast an invocation, by their field', () => {
    expect(issueSources(() => parseInfraConfig({ worker: { maxContinuations: 21 } }))).toEqual([
      'worker.maxContinuations',
    ]);
    expect(issueSources(() => parseInfraConfig({ worker: { maxContinuations: -1 } }))).toEqual([
      'worker.maxContinuations',
    ]);
    expect(
      issueSources(() => parseInfraConfig({ worker: { questionTimeoutMinutes: 30 } })),
    ).toEqual(['worker.questionTimeoutMinutes']);
    expect(
      issueSources(() => loadInfraConfig({ env: { INFRA_QUESTION_TIMEOUT_MINUTES: '0' } })),
    ).toEqual(['INFRA_QUESTION_TIMEOUT_MINUTES']);
  });
});
