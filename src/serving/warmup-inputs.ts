import type { TextInput } from '../model/model.js';

/** Inputs run through a freshly loaded model before it takes traffic (and shown by `npm start`). */
export const EXAMPLE_PROJECTS: readonly TextInput[] = [
  {
    title: 'Transfer learning with transformers',
    description: 'Using transformers for transfer learning on text classification tasks.',
  },
  {
    title: 'Real-time pedestrian detection',
    description: 'YOLO-based object detection on street camera video at 30 frames per second.',
  },
  {
    title: 'Serving models with a feature store',
    description: 'Deploy, monitor and retrain models in production with CI/CD pipelines.',
  },
  {
    title: 'Gradient boosting for tabular data',
    description: 'A tour of XGBoost and LightGBM on tabular benchmarks.',
  },
];
