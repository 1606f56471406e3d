/** The routes. Every page is its own chunk, loaded when first visited. */
import type { ComponentType } from 'react';
import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';
import { Layout } from './Layout';
import { RequireAdmin, RequireAuth } from './RequireAuth';
import { RouteError } from './RouteError';

/** page turns a lazily imported default export into a route's component. */
function page(load: () => Promise<{ default: ComponentType }>): RouteObject['lazy'] {
  return async () => ({ Component: (await load()).default });
}

export const routes: RouteObject[] = [
  {
    errorElement: <RouteError />,
    children: [
      { path: '/login', lazy: page(() => import('../features/auth/LoginPage')) },
      { path: '/register', lazy: page(() => import('../features/auth/RegisterPage')) },
      {
        element: <RequireAuth />,
        children: [
          {
            element: <Layout />,
            children: [
              { index: true, element: <Navigate to="/chat" replace /> },
              { path: '/chat/:conversationId?', lazy: page(() => import('../features/chat/ChatPage')) },
              { path: '/usage', lazy: page(() => import('../features/usage/UsagePage')) },
              { path: '/tokens', lazy: page(() => import('../features/tokens/TokensPage')) },
              { path: '/keys', lazy: page(() => import('../features/keys/KeysPage')) },
              { path: '/settings', lazy: page(() => import('../features/settings/SettingsPage')) },
              {
                path: '/admin',
                element: <RequireAdmin />,
                children: [
                  { index: true, element: <Navigate to="/admin/users" replace /> },
                  { path: 'users', lazy: page(() => import('../features/admin/AdminUsersPage')) },
                  { path: 'usage', lazy: page(() => import('../features/admin/AdminUsagePage')) },
                  { path: 'quotas', lazy: page(() => import('../features/admin/AdminQuotasPage')) },
                  { path: 'audit', lazy: page(() => import('../features/admin/AdminAuditPage')) },
                  { path: 'providers', lazy: page(() => import('../features/admin/AdminProvidersPage')) },
                ],
              },
              { path: '*', lazy: page(() => import('./NotFound')) },
            ],
          },
        ],
      },
    ],
  },
];

/** newRouter builds the browser router. */
export function newRouter() {
  return createBrowserRouter(routes);
}
