// The standalone GraphiQL page (dist/graphiql.html, served at GET /graphql).
import { createRoot } from 'react-dom/client';
import { Explorer } from './Explorer';

const root = document.getElementById('graphiql');
if (root) createRoot(root).render(<Explorer standalone />);
