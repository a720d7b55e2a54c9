import { render, screen } from '@testing-library/react';
import '../i18n';
import i18n from '../i18n';
import { HealthBadge } from './HealthBadge';

describe('the health badge', () => {
  beforeAll(() => i18n.changeLanguage('en'));

  it('shows the reason of an automatic disable', () => {
    render(
      <HealthBadge
        apiKey={{ enabled: false, available: false, disabledBy: 'AUTO', disabledReason: 'upstream rejected the key (HTTP 401)', cooldownUntil: null }}
      />,
    );
    expect(screen.getByTestId('key-health')).toHaveTextContent('Auto-disabled: upstream rejected the key (HTTP 401)');
  });

  it('says an enabled, available key is active', () => {
    render(<HealthBadge apiKey={{ enabled: true, available: true }} />);
    expect(screen.getByTestId('key-health')).toHaveTextContent('Active');
  });
});
