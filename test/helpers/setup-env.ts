import 'reflect-metadata';
import { TEST_ENV } from './test-env';

for (const [name, value] of Object.entries(TEST_ENV)) {
  if (process.env[name] === undefined || name === 'NODE_ENV') process.env[name] = value;
}
