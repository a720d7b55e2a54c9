import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { App } from 'antd';
import { GraphQLError } from 'graphql';
import { Provider, CombinedError, type Client } from 'urql';
import { fromValue, never } from 'wonka';
import '../../i18n';
import i18n from '../../i18n';
import { FieldsCard } from './FieldsCard';
import { specOf } from './spec';

function mockClient(answer: () => unknown) {
  const executeMutation = vi.fn((operation: { variables: unknown }) => fromValue({ operation, ...(answer() as object) }));
  const client = { executeMutation, executeQuery: () => never, executeSubscription: () => never } as unknown as Client;
  return { client, executeMutation };
}

function renderProxyCard(client: Client) {
  return render(
    <Provider value={client}>
      <App>
        <FieldsCard spec={specOf('proxy')!} entry={{ key: 'proxy', value: { max_attempts: 3 }, isSet: true, updateTime: '2026-11-26T12:00:00Z' }} onSaved={() => undefined} />
      </App>
    </Provider>,
  );
}

describe('a settings card', () => {
  beforeAll(() => i18n.changeLanguage('en'));

  it('refuses max_attempts 0 at the field without asking the server', async () => {
    const { client, executeMutation } = mockClient(() => ({ data: { setConfig: null } }));
    renderProxyCard(client);
    fireEvent.change(screen.getByTestId('setting-proxy-max_attempts'), { target: { value: '0' } });
    fireEvent.click(screen.getByTestId('setting-proxy-save'));
    const card = screen.getByTestId('setting-proxy');
    expect(await within(card).findByText('Must be at least 1.', {}, { timeout: 10_000 })).toBeInTheDocument();
    expect(executeMutation).not.toHaveBeenCalled();
  });

  it("shows the API's field error at the field it names, and sends unknown fields back untouched", async () => {
    const error = new CombinedError({
      graphQLErrors: [
        new GraphQLError('proxy.first_byte_timeout_ms: must be at least 1000', {
          extensions: { code: 'BAD_USER_INPUT', field: 'proxy.first_byte_timeout_ms' },
        }),
      ],
    });
    const { client, executeMutation } = mockClient(() => ({ error }));
    renderProxyCard(client);
    fireEvent.click(screen.getByTestId('setting-proxy-save'));
    const card = screen.getByTestId('setting-proxy');
    expect(await within(card).findByText('Must be at least 1000.', {}, { timeout: 10_000 })).toBeInTheDocument();
    await waitFor(() => expect(executeMutation).toHaveBeenCalledTimes(1), { timeout: 10_000 });
    const variables = executeMutation.mock.calls[0][0].variables as { key: string; value: Record<string, unknown> };
    expect(variables.key).toBe('proxy');
    expect(variables.value).toMatchObject({ max_attempts: 3, first_byte_timeout_ms: 120_000 });
    expect(variables.value).not.toHaveProperty('default_user_agent');
  });

  it('tags a setting at its default, explains it, and saves the network switch as true', async () => {
    const { client, executeMutation } = mockClient(() => ({ data: { setConfig: null } }));
    render(
      <Provider value={client}>
        <App>
          <FieldsCard
            spec={specOf('network')!}
            entry={{ key: 'network', value: { allow_link_local_upstreams: false }, isSet: false, description: 'Link-local addresses.', updateTime: null }}
            onSaved={() => undefined}
          />
        </App>
      </Provider>,
    );
    expect(screen.getByTestId('setting-network-default')).toHaveTextContent('default');
    expect(within(screen.getByTestId('setting-network')).getByText(/cloud metadata addresses/)).toBeInTheDocument();
    fireEvent.click(screen.getByTestId('setting-network-allow_link_local_upstreams'));
    fireEvent.click(screen.getByTestId('setting-network-save'));
    await waitFor(() => expect(executeMutation).toHaveBeenCalledTimes(1), { timeout: 10_000 });
    const variables = executeMutation.mock.calls[0][0].variables as { key: string; value: Record<string, unknown> };
    expect(variables).toEqual({ key: 'network', value: { allow_link_local_upstreams: true } });
  });

  it('shows no default tag once a value is stored', () => {
    const { client } = mockClient(() => ({ data: { setConfig: null } }));
    renderProxyCard(client);
    expect(screen.queryByTestId('setting-proxy-default')).not.toBeInTheDocument();
  });

  it('does not pin the server-filled User-Agent when saving a never-set proxy card', async () => {
    const { client, executeMutation } = mockClient(() => ({ data: { setConfig: null } }));
    render(
      <Provider value={client}>
        <App>
          <FieldsCard spec={specOf('proxy')!} entry={{ key: 'proxy', value: { max_attempts: 3, default_user_agent: 'amp-pool/0.1.0' }, isSet: false }} onSaved={() => undefined} />
        </App>
      </Provider>,
    );
    fireEvent.click(screen.getByTestId('setting-proxy-save'));
    await waitFor(() => expect(executeMutation).toHaveBeenCalledTimes(1), { timeout: 10_000 });
    const variables = executeMutation.mock.calls[0][0].variables as { value: Record<string, unknown> };
    expect(variables.value).not.toHaveProperty('default_user_agent');
  });
});
